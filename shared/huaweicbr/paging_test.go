package huaweicbr_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr/cbrtest"
)

// API-NOTES.md: "limit (what the server used: it may be lower than asked, up
// to 1000) ... never stop because a page is shorter than the limit you asked
// for". The server here uses at most maxLimit whatever is asked.
func TestOrganizationPoliciesPageUntilCount(t *testing.T) {
	tests := []struct {
		name      string
		maxLimit  int
		n         int
		wantCalls int
	}{
		{"server caps at 25", 25, 60, 3},
		{"server caps at 7, exact multiple", 7, 21, 3},
		{"documented maximum", 0, 60, 1},
		{"none", 25, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := cbrtest.NewServer(t, cbrtest.Config{MaxLimit: tt.maxLimit})
			for i := range tt.n {
				sim.AddOrganizationPolicy(cbrtest.OrganizationPolicy{Name: fmt.Sprintf("o%03d", i), OperationType: "backup"}, nil)
			}
			got, err := huaweicbr.New(sim.Credentials(), fast).ListOrganizationPolicies(context.Background(), "backup")
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, p := range got {
				seen[p.ID] = true
			}
			if len(got) != tt.n || len(seen) != tt.n {
				t.Fatalf("got %d policies (%d distinct), want %d", len(got), len(seen), tt.n)
			}
			if calls := len(sim.Requests()); calls != tt.wantCalls {
				t.Fatalf("%d requests, want %d", calls, tt.wantCalls)
			}
		})
	}
}

// API-NOTES.md: "policy-detail has no documented limit/offset parameters:
// the server may ignore them, so notice a page that repeats the previous
// one." The simulator ignores them and answers the first detailPage members.
func TestPolicyDetailServerIgnoresOffset(t *testing.T) {
	tests := []struct {
		name       string
		detailPage int
		n          int
		wantGot    int
		incomplete bool
	}{
		{"everything in one answer", 0, 230, 230, false},
		{"server page 150 of 230", 150, 230, 150, true},
		{"server page 25 of 60", 25, 60, 25, true},
		{"server page larger than the list", 25, 10, 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := cbrtest.NewServer(t, cbrtest.Config{DetailPage: tt.detailPage})
			id := sim.AddOrganizationPolicy(cbrtest.OrganizationPolicy{Name: "org", OperationType: "backup"}, members(tt.n))
			got, err := huaweicbr.New(sim.Credentials(), fast).OrganizationPolicyDetail(context.Background(), id)
			if tt.incomplete != errors.Is(err, huaweicbr.ErrIncomplete) || (!tt.incomplete && err != nil) {
				t.Fatalf("err %v, want incomplete=%v", err, tt.incomplete)
			}
			seen := map[string]bool{}
			for _, m := range got {
				seen[m.ProjectID] = true
			}
			if len(got) != tt.wantGot || len(seen) != tt.wantGot {
				t.Fatalf("got %d members (%d distinct), want %d", len(got), len(seen), tt.wantGot)
			}
		})
	}
}

// Whatever a list answer holds, the client ends (at most two requests, as
// every page is the same), never panics and never returns more items than the one page holds.
func FuzzListPage(f *testing.F) {
	f.Add([]byte(`{"policies":[{"id":"a"},{"id":"b"}],"count":5,"limit":2,"offset":0}`))
	f.Add([]byte(`{"policies":[{"id":"a"}]}`))
	f.Add([]byte(`{"policies":[],"count":9}`))
	f.Add([]byte(`{"policies":{"id":"a"},"count":"x"}`))
	f.Add([]byte(`{"policies":[{"id":"a"}],"count":-1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			_, _ = w.Write(body)
		}))
		defer srv.Close()
		c := huaweicbr.New(huaweicbr.Credentials{ProjectID: "p", Endpoint: srv.URL, AuthToken: "t"}, nil)
		got, _ := c.ListOrganizationPolicies(context.Background(), "backup")
		if n := calls.Load(); n > 2 {
			t.Fatalf("%d requests for a server that answers one page", n)
		}
		var first []huaweicbr.OrganizationPolicy
		var page struct{ Policies json.RawMessage }
		if json.Unmarshal(body, &page) == nil {
			_ = json.Unmarshal(page.Policies, &first)
		}
		if len(got) > len(first) {
			t.Fatalf("%d items from a page of %d", len(got), len(first))
		}
	})
}
