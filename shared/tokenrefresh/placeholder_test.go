package tokenrefresh_test

import (
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
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
