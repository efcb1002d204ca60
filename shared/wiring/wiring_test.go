package wiring

import (
	"context"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/envconfig"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestReadShared(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		want    Config
		wantErr string
	}{
		{"all set, trimmed", map[string]string{"ACRONIS_TOKEN_SECRET_ID": " tok ", "TOKEN_REFRESH_FUNCTION": "refresh", "DATA_BUCKET": "data"},
			Config{Acronis: Acronis{TokenSecretID: "tok", RefreshFunction: "refresh"}, Bucket: "data"}, ""},
		{"none set", nil, Config{}, "ACRONIS_TOKEN_SECRET_ID, TOKEN_REFRESH_FUNCTION, DATA_BUCKET not set"},
		{"bucket missing", map[string]string{"ACRONIS_TOKEN_SECRET_ID": "tok", "TOKEN_REFRESH_FUNCTION": "refresh"}, Config{}, "variable(s) DATA_BUCKET not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := envconfig.New(func(k string) string { return tt.vars[k] })
			got := Read(env)
			err := env.Err()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

// Wire builds what the configuration names, nothing else, over one cached
// secret store; the root tenant falls back on the token only when there is one.
func TestWire(t *testing.T) {
	full := Config{Acronis: Acronis{TokenSecretID: "tok", RefreshFunction: "refresh"}, Bucket: "data"}
	tests := []struct {
		name                   string
		c                      Config
		wantTokens, wantBucket bool
	}{
		{"everything", full, true, true},
		{"Acronis only", Config{Acronis: full.Acronis}, true, false},
		{"bucket only", Config{Bucket: "data"}, false, true},
		{"nothing", Config{}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Wire(aws.Config{Region: "eu-central-1"}, tt.c)
			if d.Secrets == nil || d.Secrets.TTL != secrets.CacheTTL {
				t.Fatalf("secrets %+v", d.Secrets)
			}
			if (d.Tokens != nil) != tt.wantTokens || (d.Bucket() != nil) != tt.wantBucket {
				t.Fatalf("tokens %v, bucket %v", d.Tokens != nil, d.Bucket() != nil)
			}
			if d.Tokens != nil && (d.Tokens.TokenSecretID != "tok" || d.Tokens.Secrets != d.Secrets || d.Tokens.Refresh == nil) {
				t.Fatalf("token source %+v", d.Tokens)
			}
			if b := d.Bucket(); b != nil && b.Bucket != "data" {
				t.Fatalf("bucket %+v", b)
			}
			root := d.RootTenant("")
			if (root.Owner != nil) != tt.wantTokens {
				t.Fatalf("owner fallback %v, want %v", root.Owner != nil, tt.wantTokens)
			}
			if !tt.wantTokens {
				if _, err := root.Resolve(context.Background(), ""); err == nil {
					t.Fatal("resolved a root with nothing to resolve from")
				}
			}
			const id = "3f2b6c1e-8d4a-4c2f-9b1e-5a7d9c0e1f23"
			if got, err := d.RootTenant(id).Resolve(context.Background(), ""); got != id || err != nil {
				t.Fatalf("configured root: %q %v", got, err)
			}
		})
	}
}
