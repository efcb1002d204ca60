package acronistest_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
)

// cursorOf reads the next cursor of a first page: tasks carry it at the top
// level (their document), alerts and agents under paging.
func cursorOf(t *testing.T, body []byte) string {
	t.Helper()
	var p struct {
		Cursors struct{ After string } `json:"cursors"`
		Paging  struct {
			Cursors struct{ After string } `json:"cursors"`
		} `json:"paging"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Cursors.After != "" {
		return p.Cursors.After
	}
	if p.Paging.Cursors.After == "" {
		t.Fatalf("no next cursor in %.200s", body)
	}
	return p.Paging.Cursors.After
}

// The simulator refuses what the documents refuse: parameters they do not
// list, more than 100 ids, next pages that break each family's paging rule,
// values outside enums.
func TestSimulatorRefuses(t *testing.T) {
	f := newFixture(t, 4, 40, 5)
	hundredOne := make([]string, 101)
	for i := range hundredOne {
		hundredOne[i] = fmt.Sprint(1000 + i)
	}
	_, alerts1 := f.raw(t, acronis.AlertsPath, url.Values{"tenant": f.tenants, "limit": {"2"}})
	_, tasks1 := f.raw(t, acronis.TasksPath, url.Values{"resultCode": {"error"}, "limit": {"2"}})
	_, agents1 := f.raw(t, acronis.AgentsPath, url.Values{"online": {"false"}, "limit": {"2"}})
	aAfter, tAfter, gAfter := cursorOf(t, alerts1), cursorOf(t, tasks1), cursorOf(t, agents1)
	tests := []struct {
		name, path string
		q          url.Values
		want       int
		wantText   string
		contract   bool // refused by the documents' schema (the contract check) before the handler
	}{
		{"alerts: unknown parameter", acronis.AlertsPath, url.Values{"tenant_id": {"1"}}, 400, "tenant_id: undocumented query parameter", true},
		{"alerts: 101 tenants", acronis.AlertsPath, url.Values{"tenant": hundredOne}, 400, "at most 100", false},
		{"alerts: next page without its filters", acronis.AlertsPath, url.Values{"after": {aAfter}, "limit": {"2"}}, 400, "filters changed", false},
		{"alerts: next page with its filters", acronis.AlertsPath, url.Values{"after": {aAfter}, "tenant": f.tenants, "limit": {"2"}}, 200, "", false},
		{"alerts: updated_at not nanoseconds", acronis.AlertsPath, url.Values{"updated_at": {"ge(2026-01-01)"}}, 400, "updated_at", true},
		{"alerts: order of an unknown field", acronis.AlertsPath, url.Values{"order": {"desc(name)"}}, 400, "order", false},
		{"tasks: next page repeating a filter", acronis.TasksPath, url.Values{"after": {tAfter}, "limit": {"2"}, "resultCode": {"error"}}, 400, "only with the limit", false},
		{"tasks: next page with limit only", acronis.TasksPath, url.Values{"after": {tAfter}, "limit": {"2"}}, 200, "", false},
		{"tasks: two completedAt entries", acronis.TasksPath, url.Values{"completedAt": {"gt(2026-01-01T00:00:00Z)", "lt(2026-02-01T00:00:00Z)"}}, 400, "single entry", false},
		{"tasks: completedAt not a time", acronis.TasksPath, url.Values{"completedAt": {"gt(yesterday)"}}, 400, "RFC 3339", false},
		{"tasks: 101 resources", acronis.TasksPath, url.Values{"resourceId": hundredOne}, 400, "at most 100", false},
		{"tasks: empty lod (not in its enum)", acronis.TasksPath, url.Values{"lod": {""}}, 400, "lod", true},
		{"alerts: empty severity", acronis.AlertsPath, url.Values{"severity": {""}}, 400, "severity", true},
		{"agents: empty os family", acronis.AgentsPath, url.Values{"os_family": {""}}, 400, "os_family", true},
		{"tasks: state outside enum", acronis.TasksPath, url.Values{"state": {"done"}}, 400, "state", true},
		{"agents: next page repeating a filter", acronis.AgentsPath, url.Values{"after": {gAfter}, "online": {"false"}}, 400, "mutually exclusive", false},
		{"agents: next page with limit only", acronis.AgentsPath, url.Values{"after": {gAfter}, "limit": {"2"}}, 200, "", false},
		{"agents: os family outside enum", acronis.AgentsPath, url.Values{"os_family": {"BEOS"}}, 400, "os_family", true},
		{"agents: unknown parameter", acronis.AgentsPath, url.Values{"tenant": {"1"}}, 400, "tenant: undocumented query parameter", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.contract {
				f.sim.ExpectRejected("GET", tt.path)
			}
			st, body := f.raw(t, tt.path, tt.q)
			if st != tt.want || !strings.Contains(string(body), tt.wantText) {
				t.Fatalf("%d %s, want %d naming %q", st, body, tt.want, tt.wantText)
			}
		})
	}
}

// Tasks at a low level of detail leave out tenant, policy and resource (the
// list schema); at lod=full they carry them (task_1).
func TestTaskLevelOfDetail(t *testing.T) {
	f := newFixture(t, 2, 5, 50)
	for _, tt := range []struct {
		lod  string
		want bool
	}{{"tiny", false}, {"short", false}, {"(absent)", false}, {"full", true}, {"long", true}} {
		q := url.Values{"lod": {tt.lod}, "limit": {"3"}}
		if tt.lod == "(absent)" {
			q.Del("lod")
		}
		_, body := f.raw(t, acronis.TasksPath, q)
		if got := strings.Contains(string(body), `"resource":{`); got != tt.want {
			t.Errorf("lod %q: resource present %v, want %v", tt.lod, got, tt.want)
		}
	}
}
