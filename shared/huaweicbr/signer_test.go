package huaweicbr

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The official SDK's vectors (core/auth/signer tests): AK "AccessKey",
// SK "SecretKey", X-Sdk-Date 20060102T150405Z, only x-sdk-date signed.
func TestSignOfficialVectors(t *testing.T) {
	at := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name, method, url, body, ctype, want string
	}{
		{"GET", "GET", "https://example.huaweicloud.com/path?limit=1", "", "", "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"},
		{"POST", "POST", "https://example.huaweicloud.com/path?key=value", `{"Name":"test","Id":1}` + "\n", "application/json", "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			if tt.body == "" {
				req, _ = http.NewRequest(tt.method, tt.url, nil)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if err := Sign(req, "AccessKey", "SecretKey", at); err != nil {
				t.Fatal(err)
			}
			auth := req.Header.Get("Authorization")
			want := "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=" + tt.want
			if auth != want {
				t.Fatalf("Authorization\n got %s\nwant %s", auth, want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	keys := func(ak string) (string, bool) { return "sk-" + ak, ak == "ak1" }
	sign := func(mut func(r *http.Request)) *http.Request {
		r, _ := http.NewRequest("GET", "https://cbr.eu-west-101.myhuaweicloud.com/v3/p1/policies?operation_type=backup&x=a%20b", nil)
		r.Header.Set("X-Project-Id", "p1")
		_ = Sign(r, "ak1", "sk-ak1", now)
		if mut != nil {
			mut(r)
		}
		return r
	}
	tests := []struct {
		name    string
		req     *http.Request
		at      time.Time
		wantErr string
	}{
		{"valid", sign(nil), now, ""},
		{"valid within skew", sign(nil), now.Add(10 * time.Minute), ""},
		{"too old", sign(nil), now.Add(20 * time.Minute), "too far"},
		{"tampered query", sign(func(r *http.Request) { r.URL.RawQuery = "operation_type=replication" }), now, "signature mismatch"},
		{"tampered signed header", sign(func(r *http.Request) { r.Header.Set("X-Project-Id", "p2") }), now, "signature mismatch"},
		{"unknown key", sign(func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Access=ak1", "Access=ak2", 1))
		}), now, "unknown access key"},
		{"no auth", sign(func(r *http.Request) { r.Header.Del("Authorization") }), now, "missing"},
		{"no date", sign(func(r *http.Request) { r.Header.Del("X-Sdk-Date") }), now, "X-Sdk-Date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.req, keys, tt.at, 15*time.Minute)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("SDK-HMAC-SHA256 Access=ak1, SignedHeaders=x-sdk-date, Signature=00", "20261122T100000Z")
	f.Add("SDK-HMAC-SHA256 ,,,=", "")
	f.Fuzz(func(t *testing.T, auth, date string) {
		r, _ := http.NewRequest("GET", "https://x/v3/p/policies", nil)
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Sdk-Date", date)
		if err := Verify(r, func(string) (string, bool) { return "sk", true }, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), time.Hour); err == nil {
			t.Fatalf("forged request accepted: %q %q", auth, date)
		}
	})
}
