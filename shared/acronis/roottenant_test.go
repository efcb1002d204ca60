package acronis_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
)

type fixedToken struct {
	tok acronis.Token
	err error
}

func (f fixedToken) Token(context.Context) (acronis.Token, error) { return f.tok, f.err }

// jwt builds an unsigned token with the given payload (the claim is read,
// not verified).
func jwt(payload string) string {
	return "e30." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
}

func TestRootTenantResolve(t *testing.T) {
	const (
		req   = "11111111-1111-4111-8111-111111111111"
		conf  = "22222222-2222-4222-8222-222222222222"
		owner = "33333333-3333-4333-8333-333333333333"
	)
	ownerTok := acronis.TokenOwner(fixedToken{tok: acronis.Token{AccessToken: jwt(`{"owner_tuid":"` + owner + `"}`)}})
	tests := []struct {
		name      string
		root      acronis.RootTenant
		requested string
		want      string
		wantErr   string
	}{
		{"request wins over both", acronis.RootTenant{ID: conf, Owner: ownerTok}, req, req, ""},
		{"configured wins over the token", acronis.RootTenant{ID: conf, Owner: ownerTok}, "", conf, ""},
		{"token owner last", acronis.RootTenant{Owner: ownerTok}, "", owner, ""},
		{"request without anything configured", acronis.RootTenant{}, req, req, ""},
		{"nothing at all", acronis.RootTenant{}, "", "", "none requested, none configured"},
		{"token unreadable", acronis.RootTenant{Owner: acronis.TokenOwner(fixedToken{err: errors.New("secret gone")})}, "", "", "find the API client's tenant: secret gone"},
		{"token without owner_tuid", acronis.RootTenant{Owner: acronis.TokenOwner(fixedToken{tok: acronis.Token{AccessToken: jwt(`{"sub":"x"}`)}})}, "", "", "owner_tuid claim missing"},
		{"token not a JWT", acronis.RootTenant{Owner: acronis.TokenOwner(fixedToken{tok: acronis.Token{AccessToken: "opaque"}})}, "", "", "not a JWT"},
		{"requested not a UUID", acronis.RootTenant{ID: conf}, "acme", "", `"acme" is not a UUID`},
		{"configured not a UUID", acronis.RootTenant{ID: "17"}, "", "", `"17" is not a UUID`},
		{"owner answers garbage", acronis.RootTenant{Owner: func(context.Context) (string, error) { return "x", nil }}, "", "", `"x" is not a UUID`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.root.Resolve(context.Background(), tt.requested)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// The owner is asked only when it is needed: a configured root costs no
// token read.
func TestRootTenantAsksOwnerOnlyWhenNeeded(t *testing.T) {
	asked := 0
	r := acronis.RootTenant{ID: "22222222-2222-4222-8222-222222222222", Owner: func(context.Context) (string, error) {
		asked++
		return "", errors.New("should not be asked")
	}}
	if _, err := r.Resolve(context.Background(), ""); err != nil || asked != 0 {
		t.Fatalf("err %v, owner asked %d times", err, asked)
	}
}
