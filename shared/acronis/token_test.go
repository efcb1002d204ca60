package acronis

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

func jwtWithExp(exp int64) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(fmt.Sprintf(`{"exp":%d}`, exp))) + ".sig"
}

func TestParseTokenResponse(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(2 * time.Hour)
	tests := []struct {
		name    string
		body    string
		want    time.Time
		wantErr string
	}{
		{"expires_on", fmt.Sprintf(`{"access_token":"a","token_type":"bearer","expires_on":%d}`, exp.Unix()), exp, ""},
		{"expires_in", `{"access_token":"a","token_type":"bearer","expires_in":7200}`, exp, ""},
		{"expires_on wins over expires_in", fmt.Sprintf(`{"access_token":"a","expires_on":%d,"expires_in":60}`, exp.Unix()), exp, ""},
		{"jwt exp", fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer"}`, jwtWithExp(exp.Unix())), exp, ""},
		{"no expiry anywhere", `{"access_token":"opaque","token_type":"bearer"}`, time.Time{}, "no usable expires_on"},
		{"missing token", `{"token_type":"bearer","expires_in":60}`, time.Time{}, `"access_token": missing`},
		{"wrong type", `{"access_token":"a","token_type":"mac","expires_in":60}`, time.Time{}, `"token_type"`},
		{"already expired", fmt.Sprintf(`{"access_token":"a","expires_on":%d}`, now.Unix()-1), time.Time{}, "already expired"},
		{"milliseconds by mistake", fmt.Sprintf(`{"access_token":"a","expires_on":%d}`, exp.UnixMilli()), time.Time{}, "no usable"},
		{"not json", `<html>`, time.Time{}, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := ParseTokenResponse([]byte(tt.body), now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tok.ExpiresAt.Equal(tt.want) {
				t.Fatalf("got %v, %v; want expiry %v", tok.ExpiresAt, err, tt.want)
			}
		})
	}
}

func FuzzParseTokenResponse(f *testing.F) {
	f.Add([]byte(`{"access_token":"a","expires_on":1800007200}`))
	f.Add([]byte(`{"access_token":"a.eyJleHAiOjF9.c"}`))
	f.Add([]byte(`{"access_token":"a","expires_in":1e300}`))
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseTokenResponse(b, now)
		if err == nil && (!tok.ExpiresAt.After(now) || tok.AccessToken == "") {
			t.Fatalf("accepted an unusable token: %v", tok)
		}
		if err != nil && strings.Contains(err.Error(), "access_token\":\"") {
			t.Fatalf("error quotes the input: %v", err)
		}
	})
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"ok", `{"base_url":"https://eu2-cloud.acronis.com/","client_id":"id","client_secret":"s3cr3t"}`, ""},
		{"loopback http ok", `{"base_url":"http://127.0.0.1:8080","client_id":"id","client_secret":"s3cr3t"}`, ""},
		{"plain http refused", `{"base_url":"http://eu2-cloud.acronis.com","client_id":"id","client_secret":"s3cr3t"}`, `"base_url": must be https`},
		{"missing base_url", `{"client_id":"id","client_secret":"s3cr3t"}`, `"base_url": missing`},
		{"missing id", `{"base_url":"https://x.example","client_secret":"s3cr3t"}`, `"client_id": missing`},
		{"missing secret", `{"base_url":"https://x.example","client_id":"id"}`, `"client_secret": missing`},
		{"not json", `s3cr3t`, "invalid JSON"},
		{"wrong type", `{"base_url":"https://x.example","client_id":"id","client_secret":42}`, `"client_secret"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCredentials([]byte(tt.body))
			if tt.wantErr == "" {
				if err != nil || strings.HasSuffix(c.BaseURL, "/") {
					t.Fatalf("got %v, %v", c, err)
				}
				if strings.Contains(c.String(), "s3cr3t") || strings.Contains(fmt.Sprintf("%v %+v", c, c), "s3cr3t") {
					t.Fatal("secret printed")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte(`{"base_url":"https://a.example","client_id":"i","client_secret":"SECRETVALUE"}`))
	f.Add([]byte(`{"client_secret":"SECRETVALUE`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := ParseCredentials(b)
		if err != nil && strings.Contains(err.Error(), "SECRETVALUE") {
			t.Fatalf("error leaks the secret: %v", err)
		}
	})
}
