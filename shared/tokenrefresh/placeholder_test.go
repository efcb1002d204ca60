package tokenrefresh_test

import (
	"context"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
)

func TestIsPlaceholder(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"base_url": "", "client_id": "", "client_secret": ""}`, true}, // template.yaml's value
		{`{}`, true},
		{`{"base_url": null}`, true},
		{`{"base_url": "https://eu2-cloud.acronis.com", "client_id": "", "client_secret": ""}`, false},
		{`{"client_secret": "s"}`, false},
		{`{"base_url": 0}`, false},
		{`{"base_url": {}}`, false},
		{``, false},
		{`null`, false},
		{`[]`, false},
		{`""`, false},
		{`{"base_url": ""`, false},
	}
	for _, tt := range tests {
		if got := tokenrefresh.IsPlaceholder([]byte(tt.in)); got != tt.want {
			t.Errorf("IsPlaceholder(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// No input panics, and nothing taken for a placeholder would have been
// usable credentials.
func FuzzIsPlaceholder(f *testing.F) {
	for _, s := range []string{`{"base_url": "", "client_id": "", "client_secret": ""}`, `{}`, `{"base_url":"https://x","client_id":"a","client_secret":"b"}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if tokenrefresh.IsPlaceholder(b) {
			if _, err := acronis.ParseCredentials(b); err == nil {
				t.Fatalf("%q is taken for the placeholder but parses as credentials", b)
			}
		}
	})
}

// On a fresh stack, a function that needs a token fails with an error that
// names the bootstrap step (it asks token-refresh, which refuses a forced
// refresh of the placeholder).
func TestFreshStackOtherFunctionsNameTheStep(t *testing.T) {
	ctx := context.Background()
	store := &secrets.Dir{Root: t.TempDir()}
	for id, v := range map[string]string{"client": `{"base_url": "", "client_id": "", "client_secret": ""}`, "token": "{}"} {
		if err := store.Put(ctx, id, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	r := &tokenrefresh.Refresher{Secrets: store, ClientSecretID: "client", TokenSecretID: "token"}
	src := &tokenrefresh.SecretSource{Secrets: store, TokenSecretID: "token", Refresh: func(ctx context.Context, req tokenrefresh.Request) error {
		_, err := r.Run(ctx, req)
		return err
	}}
	if _, err := src.Token(ctx); err == nil || !strings.Contains(err.Error(), "scripts/bootstrap-api-client") {
		t.Fatalf("err %v, want it to name scripts/bootstrap-api-client", err)
	}
}
