package acronistest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// All six documents load unedited, and the v4 document's ScopedExternalID
// pattern, written with (?<name>...) groups, is enforced (Go's regexp reads
// that syntax since Go 1.22; a pattern skipped would pass anything).
func TestSpecsLoad(t *testing.T) {
	for _, name := range []string{SpecAccountManagement, SpecPolicyManagement, SpecTasks, SpecAlerts, SpecAgents, SpecAdvancedAutomation} {
		if _, err := LoadSpec(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	rp, err := LoadSpec(SpecPolicyManagement)
	if err != nil {
		t.Fatal(err)
	}
	sc := rp.doc.Components.Schemas["ScopedExternalID"].Value
	tests := []struct {
		value string
		ok    bool
	}{
		{"0f0e0d0c-0b0a-4908-8706-050403020100", true},
		{"0f0e0d0c-0b0a-4908-8706-050403020100@scope!tenant-1", true},
		{"not-an-id@scope", false},
	}
	for _, tt := range tests {
		if err := sc.VisitJSON(tt.value); (err == nil) != tt.ok {
			t.Errorf("%q: err %v, want ok=%v", tt.value, err, tt.ok)
		}
	}
}

// fakeTB records what a simulator reports to its test, and runs the
// cleanups when told: the real test must not fail for what is provoked here.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) finish() []string {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	return f.errs
}

// A violation, request or answer, fails the test whose simulator saw it;
// a declared rejection does not, and one never provoked does.
func TestViolationsFailTheTest(t *testing.T) {
	tests := []struct {
		name   string
		expect string // ExpectRejected path, "" = none
		path   string
		want   string // in the reported error, "" = no error
	}{
		{"bad answer", "", "/api/2/clients", "answer GET /api/2/clients: /items/0/client_id"},
		{"bad request", "", "/api/2/tenants?colour=red", "colour: undocumented query parameter"},
		{"declared bad request", "/api/2/tenants", "/api/2/tenants?colour=red", ""},
		{"declared, never provoked", "/api/2/users", "/api/2/tenants?subtree_root_id=" + strings.Repeat("0", 8) + "-0000-4000-8000-000000000000", "expected rejection(s) of GET /api/2/users never happened"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := &fakeTB{TB: t}
			sim := NewServer(ft, Config{})
			// An operation the document has and the simulator does not
			// serve, answered off the document on purpose.
			sim.mux.HandleFunc("GET /api/2/clients", func(w http.ResponseWriter, r *http.Request) {
				WriteJSON(w, 200, map[string]any{"items": []any{map[string]any{"client_id": 5}}})
			})
			if tt.expect != "" {
				sim.ExpectRejected("GET", tt.expect)
			}
			resp, err := http.Get(sim.URL() + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := strings.Join(ft.finish(), "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Fatalf("reported %q, want %q", got, tt.want)
			}
		})
	}
}
