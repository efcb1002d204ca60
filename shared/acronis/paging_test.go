package acronis_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
)

// pagesServer answers each request with the next of answers (a status and
// a body) and records the query strings it was sent.
func pagesServer(t *testing.T, answers []string) (*acronis.Client, *[]string) {
	t.Helper()
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if len(queries) > len(answers) {
			t.Errorf("request %d: only %d answers", len(queries), len(answers))
			http.Error(w, "no more", http.StatusInternalServerError)
			return
		}
		a := answers[len(queries)-1]
		if a == "204" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(a))
	}))
	t.Cleanup(srv.Close)
	c, err := acronis.NewClient(srv.URL, staticOK{}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c, &queries
}

func page(after string, items ...string) string {
	return fmt.Sprintf(`{"items":[%s],"paging":{"cursors":{"after":%q}}}`, strings.Join(items, ","), after)
}

// Pages follows paging.cursors.after to the end; an empty page or a
// missing cursor ends the walk, a repeated cursor is an error, and only the
// first request carries the filters unless they are to be repeated.
func TestPagesWalk(t *testing.T) {
	filter := url.Values{"parent_id": {"p"}}
	tests := []struct {
		name    string
		repeat  bool
		answers []string
		items   string
		queries []string
		err     string
	}{
		{"two pages", false, []string{page("c1", `"a"`, `"b"`), page("", `"c"`)}, "[a b c]",
			[]string{"limit=2&parent_id=p", "after=c1&limit=2"}, ""},
		{"filters repeated", true, []string{page("c1", `"a"`), page("", `"b"`)}, "[a b]",
			[]string{"limit=2&parent_id=p", "after=c1&limit=2&parent_id=p"}, ""},
		{"empty page with a cursor ends it", false, []string{page("c1", `"a"`), page("c2")}, "[a]",
			[]string{"limit=2&parent_id=p", "after=c1&limit=2"}, ""},
		{"no content", false, []string{"204"}, "[]", []string{"limit=2&parent_id=p"}, ""},
		{"repeated cursor", false, []string{page("c1", `"a"`), page("c1", `"b"`)}, "[a b]",
			[]string{"limit=2&parent_id=p", "after=c1&limit=2"}, "cursor repeated"},
		{"undecodable page", false, []string{`{"items":`}, "[]", []string{"limit=2&parent_id=p"}, "decode response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, queries := pagesServer(t, tt.answers)
			walk := acronis.Pages[string]
			if tt.repeat {
				walk = acronis.PagesRepeatingFilters[string]
			}
			items, err := collect(walk(context.Background(), c, "/api/2/tenants", filter, 2))
			if fmt.Sprint(items) != tt.items || fmt.Sprint(*queries) != fmt.Sprint(tt.queries) {
				t.Errorf("items %v queries %v, want %s %v", items, *queries, tt.items, tt.queries)
			}
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func collect(seq iter.Seq2[[]string, error]) ([]string, error) {
	out := []string{}
	for items, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, items...)
	}
	return out, nil
}
