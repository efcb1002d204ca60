package acronis_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

const taskOK = `{"id":42,"uuid":"8f27a66f-71ff-4b5c-b665-75ec0f42b849","type":"backup","state":"completed","issuer":{"id":"pm"},
 "cancelRequested":false,"assignCount":1,"enqueuedAt":"2026-11-29T10:00:00Z","updatedAt":"2026-11-29T10:30:00.5Z",
 "startedAt":"2026-11-29T10:01:00","completedAt":"2026-11-29T10:30:00+01:00",
 "result":{"code":"error","error":{"domain":"Backup","code":"NotEnoughSpace","debug":{"msg":"no space left"}}},
 "tenant":{"id":"1005","uuid":"11111111-2222-4333-8444-555555555555"},
 "policy":{"id":"p1","name":"Plan","type":"policy.backup.machine"},"resource":{"id":"r1","name":"HOST","type":"resource.machine"}}`

func taskWith(from, to string) string {
	if !strings.Contains(taskOK, from) {
		panic("fixture has no " + from)
	}
	return `{"items":[` + strings.Replace(taskOK, from, to, 1) + `],"cursors":{"after":"n2"}}`
}

func TestDecodeTasks(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    string
		check      func(tk acronis.Task, after string) bool
	}{
		{"document shape", taskWith(`"id":42`, `"id":42`), "", func(tk acronis.Task, after string) bool {
			return after == "n2" && tk.ID == 42 && tk.ResultCode == "error" && tk.Error.Error() == "Backup/NotEnoughSpace: no space left" &&
				tk.ResourceID == "r1" && tk.PolicyID == "p1" && tk.TenantUUID == "11111111-2222-4333-8444-555555555555" &&
				tk.CompletedAt.Equal(time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC)) && tk.StartedAt.Equal(time.Date(2026, 11, 29, 10, 1, 0, 0, time.UTC))
		}},
		{"cursor under paging (API-NOTES)", strings.Replace(taskWith(`"id":42`, `"id":42`), `"cursors":{"after":"n2"}`, `"paging":{"cursors":{"after":"p3"}}`, 1), "",
			func(tk acronis.Task, after string) bool { return after == "p3" }},
		{"low level of detail: no links", taskWith(`"tenant":{"id":"1005","uuid":"11111111-2222-4333-8444-555555555555"},`, ``), "",
			func(tk acronis.Task, _ string) bool { return tk.TenantUUID == "" && tk.ResourceID == "r1" }},
		{"running: no result, no completion", taskWith(`"completedAt":"2026-11-29T10:30:00+01:00",
 "result":{"code":"error","error":{"domain":"Backup","code":"NotEnoughSpace","debug":{"msg":"no space left"}}},`, ``), "",
			func(tk acronis.Task, _ string) bool {
				return tk.ResultCode == "" && tk.CompletedAt == nil && tk.Error == nil
			}},
		{"text from context", taskWith(`"debug":{"msg":"no space left"}`, `"context":{"message":"quota"}`), "",
			func(tk acronis.Task, _ string) bool { return tk.Error.Text == "quota" }},
		{"missing id", taskWith(`"id":42,`, ``), "items[0]: id: missing", nil},
		{"state outside enum", taskWith(`"state":"completed"`, `"state":"done"`), `state: "done" is not one of`, nil},
		{"result code outside enum", taskWith(`"code":"error","error"`, `"code":"failed","error"`), `result.code: "failed"`, nil},
		{"error without domain", taskWith(`"domain":"Backup",`, ``), "result.error: domain and code are required", nil},
		{"resource without id", taskWith(`"resource":{"id":"r1",`, `"resource":{`), "resource.id: missing", nil},
		{"bad time", taskWith(`"updatedAt":"2026-11-29T10:30:00.5Z"`, `"updatedAt":"soon"`), "updatedAt: time", nil},
		{"id not a number", taskWith(`"id":42`, `"id":"42"`), "decode", nil},
		{"items missing", `{"cursors":{}}`, "items: missing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, after, err := acronis.DecodeTasks([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || !tt.check(items[0], after) {
				t.Fatalf("got %+v after %q", items, after)
			}
		})
	}
}

func FuzzDecodeTasks(f *testing.F) {
	f.Add([]byte(taskWith(`"id":42`, `"id":42`)))
	f.Add([]byte(`{"items":[],"paging":{"cursors":{"after":"x"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, _, err := acronis.DecodeTasks(b)
		if err != nil {
			return
		}
		for _, tk := range items {
			if tk.State == "" || tk.Error != nil && (tk.Error.Domain == "" && tk.Error.Code == "" && !strings.Contains(string(b), `"domain":""`)) {
				t.Fatalf("accepted a task the document forbids: %+v", tk)
			}
		}
	})
}

func at(h int) *time.Time {
	t := time.Date(2026, 11, 30, h, 0, 0, 0, time.UTC)
	return &t
}

func TestSummarize(t *testing.T) {
	tasks := []acronis.Task{
		{ID: 1, ResourceID: "a", ResultCode: "ok", CompletedAt: at(1)},
		{ID: 2, ResourceID: "a", ResultCode: "error", CompletedAt: at(5)},
		{ID: 3, ResourceID: "a", ResultCode: "timedout", CompletedAt: at(3)},
		{ID: 4, ResourceID: "a", ResultCode: "cancelled", CompletedAt: at(4)},
		{ID: 5, ResourceID: "b", ResultCode: "error", CompletedAt: at(2)},
		{ID: 6, ResourceID: "c", ResultCode: "warning", CompletedAt: at(2)},
		{ID: 7, ResourceID: "c", ResultCode: "error", CompletedAt: at(1)},
		{ID: 8, ResourceID: "", ResultCode: "error", CompletedAt: at(1)},
		{ID: 9, ResourceID: "d", ResultCode: "error"},
	}
	got := acronis.Summarize(tasks)
	tests := []struct {
		res         string
		latest      int64
		lastSuccess int64 // 0 = none
		failures    []int64
		since       *time.Time
	}{
		{"a", 2, 1, []int64{2, 3}, at(3)},
		{"b", 5, 0, []int64{5}, at(2)},
		{"c", 6, 6, nil, nil},
	}
	if len(got) != len(tests) {
		t.Fatalf("%d resources summarized, want %d: %v", len(got), len(tests), got)
	}
	for _, tt := range tests {
		r := got[tt.res]
		var fails []int64
		for _, f := range r.Failures {
			fails = append(fails, f.ID)
		}
		ls := int64(0)
		if r.LastSuccess != nil {
			ls = r.LastSuccess.ID
		}
		since := r.FailingSince()
		if r.Latest.ID != tt.latest || ls != tt.lastSuccess || !slices.Equal(fails, tt.failures) ||
			(tt.since == nil) != since.IsZero() || tt.since != nil && !since.Equal(*tt.since) {
			t.Errorf("%s: latest %d success %d failures %v since %v", tt.res, r.Latest.ID, ls, fails, since)
		}
	}
}

// Resources go out in batches of at most 100; next pages carry only limit
// and after (the task document: after "Can be used only with the limit query
// string parameter"); every failing machine shows a failed task with text.
func TestTasksBatchesAndPages(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 4, PageCap: 500})
	ids := sim.GenerateTree(1, 30, 0)
	tenants := ids[1:]
	machines(sim, tenants, 8) // 240 machines
	c, _ := newClient(t, sim)
	ctx := context.Background()
	var resources []string
	failing := map[string]bool{}
	for page, err := range c.PolicyStatuses(ctx, tenants, 500) {
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			resources = append(resources, it.Context.ID)
			if len(it.Policies) > 0 && (it.Policies[0].Status == "error" || it.Policies[0].Status == "critical") {
				failing[it.Context.ID] = true
			}
		}
	}
	sim.ResetLog()
	var all []acronis.Task
	for page, err := range c.Tasks(ctx, acronis.TaskQuery{ResourceIDs: resources, Limit: 50, PolicyTypes: []string{"policy.backup.machine"}}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Items...)
	}
	reqs := requestsTo(sim, acronis.TasksPath)
	firsts := 0
	for _, q := range reqs {
		if q.Get("after") == "" {
			firsts++
			if n := len(q["resourceId"]); n == 0 || n > 100 || q.Get("lod") != "full" {
				t.Fatalf("first page with %d resources: %v", n, q)
			}
		} else if len(q) != 2 || q.Get("limit") != "50" {
			t.Fatalf("next page carries more than limit and after: %v", q)
		}
	}
	if firsts != 3 || len(reqs) <= 3 {
		t.Fatalf("%d batches in %d requests, want 3 batches of %d resources over several pages", firsts, len(reqs), len(resources))
	}
	sum := acronis.Summarize(all)
	for id := range failing {
		r := sum[id]
		if r == nil || len(r.Failures) == 0 || r.Failures[0].Error == nil || r.Failures[0].Error.Text == "" || r.FailingSince().IsZero() {
			t.Fatalf("failing machine %s: %+v", id, r)
		}
	}
	if len(failing) == 0 {
		t.Fatal("no failing machines in the fixture")
	}
}

// runWalks reads what the audit reads for every customer of an MSP with
// `customers` customers of `per` machines each, and returns the load and
// the requests the simulator counted per family.
func runWalks(t testing.TB, customers, per int, byResource bool) (acronis.RunLoad, acronis.RunRequests) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 11})
	ids := sim.GenerateTree(10, customers/10, 0)
	var tenants []string
	for i, id := range ids {
		if i%(customers/10+1) != 0 { // partners come first in each group
			tenants = append(tenants, id)
		}
	}
	machines(sim, tenants, per)
	c, _ := newClient(t, sim)
	ctx := context.Background()
	load := acronis.RunLoad{Tenants: len(tenants)}
	var resources []string
	if byResource {
		for page, err := range c.PolicyStatuses(ctx, tenants, 500) {
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				resources = append(resources, it.Context.ID)
			}
		}
		load.Resources = len(resources)
	}
	sim.ResetLog()
	for page, err := range c.Alerts(ctx, acronis.AlertQuery{Tenants: tenants}) {
		if err != nil {
			t.Fatal(err)
		}
		load.Alerts += len(page.Items)
	}
	for page, err := range c.Tasks(ctx, acronis.TaskQuery{ResourceIDs: resources}) {
		if err != nil {
			t.Fatal(err)
		}
		load.Tasks += len(page.Items)
	}
	for page, err := range c.Agents(ctx, acronis.AgentQuery{SubtreeRoot: sim.RootTenantID()}) {
		if err != nil {
			t.Fatal(err)
		}
		load.Agents += len(page)
	}
	got := acronis.RunRequests{Alerts: sim.CountRequests("GET", acronis.AlertsPath),
		Tasks: sim.CountRequests("GET", acronis.TasksPath), Agents: sim.CountRequests("GET", acronis.AgentsPath)}
	return load, got
}

// checkBounds fails when a family's count falls outside RunLoad.Requests.
func checkBounds(t testing.TB, load acronis.RunLoad, got acronis.RunRequests) {
	least, most := load.Requests()
	for _, f := range []struct {
		name             string
		got, least, most int
	}{{"alerts", got.Alerts, least.Alerts, most.Alerts}, {"tasks", got.Tasks, least.Tasks, most.Tasks}, {"agents", got.Agents, least.Agents, most.Agents}} {
		if f.got < f.least || f.got > f.most {
			t.Errorf("%s: %d requests, outside [%d, %d] for %+v", f.name, f.got, f.least, f.most, load)
		}
	}
}

// Requests per run for 200 and 1,000 customers (2 machines each) fall within
// RunLoad.Requests' bounds (BenchmarkRequestsPerRun does 10,000).
func TestRequestsPerRun(t *testing.T) {
	tests := []struct {
		customers  int
		byResource bool
	}{{200, true}, {1000, true}, {1000, false}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d customers, tasks by resource %v", tt.customers, tt.byResource), func(t *testing.T) {
			load, got := runWalks(t, tt.customers, 2, tt.byResource)
			checkBounds(t, load, got)
			least, most := load.Requests()
			t.Logf("load %+v: requests %+v = %d (bounds %d..%d)", load, got, got.Total(), least.Total(), most.Total())
		})
	}
}

// BenchmarkRequestsPerRun reports the requests of one run for 1,000 and
// 10,000 customers as metrics (make bench runs it once).
func BenchmarkRequestsPerRun(b *testing.B) {
	for _, customers := range []int{1000, 10000} {
		for _, byResource := range []bool{true, false} {
			b.Run(fmt.Sprintf("customers=%d/by-resource=%v", customers, byResource), func(b *testing.B) {
				for range b.N {
					load, got := runWalks(b, customers, 2, byResource)
					checkBounds(b, load, got)
					b.ReportMetric(float64(got.Alerts), "alert-requests/run")
					b.ReportMetric(float64(got.Tasks), "task-requests/run")
					b.ReportMetric(float64(got.Agents), "agent-requests/run")
					b.ReportMetric(float64(got.Total()), "requests/run")
				}
			})
		}
	}
}
