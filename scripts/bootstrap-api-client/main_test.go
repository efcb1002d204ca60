package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
)

func TestBootstrap(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{})
	sim.AddLoginUser("admin", "pa55word", "")
	tests := []struct {
		name, password, secretID, wantErr string
	}{
		{"stores the client", "pa55word", "acronis-client", ""},
		{"prints the command", "pa55word", "", ""},
		{"wrong password", "nope", "acronis-client", "401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &secrets.Dir{Root: t.TempDir()}
			var out, errOut bytes.Buffer
			args := []string{"-base-url", sim.URL(), "-login", "admin", "-secret-id", tt.secretID}
			err := run(context.Background(), args, strings.NewReader(tt.password+"\n"), &out, &errOut, store)
			all := out.String() + errOut.String()
			if strings.Contains(all, tt.password) || (err != nil && strings.Contains(err.Error(), tt.password)) {
				t.Fatal("the password was printed")
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.secretID == "" {
				if !strings.Contains(out.String(), "aws secretsmanager put-secret-value") {
					t.Fatalf("output %q", out.String())
				}
				return
			}
			b, err := store.Get(context.Background(), tt.secretID)
			if err != nil {
				t.Fatal(err)
			}
			creds, err := acronis.ParseCredentials(b)
			if err != nil {
				t.Fatal(err)
			}
			// The stored client really works.
			cc := &acronis.ClientCredentials{Creds: creds, HTTP: acronis.NewHTTPClient(acronis.HTTPOptions{})}
			if _, err := cc.Token(context.Background()); err != nil {
				t.Fatalf("stored client cannot mint a token: %v", err)
			}
		})
	}
}
