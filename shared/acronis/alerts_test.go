package acronis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

const alertOK = `{"id":"01C2D69A-112B-4DE1-98AE-8688223C5F4B","type":"BackupFailed","severity":"critical",
 "details":{"resourceId":"r1","resourceName":"HOST","planId":"p1","planName":"Plan","activityId":"a1","errorMessage":{"reason":"disk full"}},
 "createdAt":"2021-04-05T20:41:41Z","receivedAt":"2021-04-01T22:16:19.71025511Z","updatedAt":"2021-04-05T20:41:42.352636392+03:00",
 "tenant":{"id":"56","locator":"/1/50/53/56/"},"category":"Backup","affinity":"agent-1"}`

// alertWith replaces one "key":value pair of alertOK (or drops it when to is "").
func alertWith(from, to string) string {
	if !strings.Contains(alertOK, from) {
		panic("fixture has no " + from)
	}
	return `{"items":[` + strings.Replace(alertOK, from, to, 1) + `],"paging":{"cursors":{"after":"c2"}}}`
}

func TestDecodeAlerts(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    string
		check      func(a acronis.Alert) bool
	}{
		{"document shape", alertWith(`"category":"Backup"`, `"category":"Backup"`), "", func(a acronis.Alert) bool {
			return a.ResourceID == "r1" && a.PlanID == "p1" && a.Message == "disk full" && a.Tenant.ID == "56" &&
				a.AgentID == "agent-1" && a.UpdatedAt.Equal(time.Date(2021, 4, 5, 17, 41, 42, 352636392, time.UTC)) && a.DeletedAt == nil
		}},
		{"time without zone", alertWith(`"createdAt":"2021-04-05T20:41:41Z"`, `"createdAt":"2021-04-05T20:41:41"`), "", func(a acronis.Alert) bool {
			return a.CreatedAt.Equal(time.Date(2021, 4, 5, 20, 41, 41, 0, time.UTC))
		}},
		{"dismissed", alertWith(`"category":"Backup"`, `"category":"Backup","deletedAt":"2021-04-06T00:00:00Z"`), "", func(a acronis.Alert) bool {
			return a.DeletedAt != nil && a.DeletedAt.Day() == 6
		}},
		{"details null (documented)", alertWith(`"details":{`, `"details":null,"x":{`), "", func(a acronis.Alert) bool { return a.ResourceID == "" && a.Details == nil }},
		{"agent id in details wins", alertWith(`"resourceId":"r1"`, `"resourceId":"r1","agentId":"agent-2"`), "", func(a acronis.Alert) bool { return a.AgentID == "agent-2" }},
		{"message as a string", alertWith(`{"reason":"disk full"}`, `"plain words"`), "", func(a acronis.Alert) bool { return a.Message == "plain words" }},
		{"message only a kb code", alertWith(`{"reason":"disk full"}`, `{"kbLink":{"serCode":"NoBackupForXDays"}}`), "", func(a acronis.Alert) bool { return a.Message == "NoBackupForXDays" }},
		{"odd detail type kept raw", alertWith(`"resourceId":"r1"`, `"resourceId":5`), "", func(a acronis.Alert) bool {
			return a.ResourceID == "" && a.Message == "disk full" && strings.Contains(string(a.Details), `"resourceId":5`)
		}},
		{"missing tenant", alertWith(`"tenant":{"id":"56","locator":"/1/50/53/56/"},`, ``), "items[0]: tenant: missing", nil},
		{"missing updatedAt", alertWith(`"updatedAt":"2021-04-05T20:41:42.352636392+03:00",`, ``), "updatedAt: missing", nil},
		{"severity outside enum", alertWith(`"severity":"critical"`, `"severity":"fatal"`), `severity: "fatal" is not one of`, nil},
		{"bad time", alertWith(`"createdAt":"2021-04-05T20:41:41Z"`, `"createdAt":"yesterday"`), "createdAt: time", nil},
		{"details not an object", alertWith(`"details":{`, `"details":[],"x":{`), "details: not an object", nil},
		{"items missing", `{"paging":{}}`, "items: missing", nil},
		{"not json", `{"items":[`, "decode", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, after, err := acronis.DecodeAlerts([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || after != "c2" || !tt.check(items[0]) {
				t.Fatalf("got %+v after %q", items, after)
			}
		})
	}
}

func FuzzDecodeAlerts(f *testing.F) {
	f.Add([]byte(alertWith(`"category":"Backup"`, `"category":"Backup"`)))
	f.Add([]byte(alertWith(`"details":{`, `"details":null,"x":{`)))
	f.Add([]byte(`{"items":[],"paging":{"cursors":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, _, err := acronis.DecodeAlerts(b)
		if err != nil {
			return
		}
		for _, a := range items {
			if a.Tenant.ID == "" || !slices.Contains([]string{"ok", "information", "warning", "error", "critical"}, a.Severity) ||
				a.CreatedAt.IsZero() && !strings.Contains(string(b), "0001-01-01") {
				t.Fatalf("accepted an alert the document forbids: %+v", a)
			}
		}
	})
}

// requestsTo lists the query strings the simulator received for a path.
func requestsTo(sim *acronistest.Server, path string) []url.Values {
	var out []url.Values
	for _, r := range sim.Requests() {
		if r.Path == path {
			q, _ := url.ParseQuery(r.Query)
			out = append(out, q)
		}
	}
	return out
}

// machines gives every tenant n machines.
func machines(sim *acronistest.Server, tenants []string, n int) {
	for i, id := range tenants {
		sim.AddResources(id, n, int64(i))
	}
}

// 250 tenants go out as 3 batches of at most 100, every page of each batch
// repeats its tenant filter, and every failing machine's alert comes back
// exactly once.
func TestAlertsBatchesAndPages(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 3, PageCap: 500})
	ids := sim.GenerateTree(1, 250, 0)
	tenants := ids[1:]
	machines(sim, tenants, 6)
	c, _ := newClient(t, sim)
	sim.ResetLog()
	seen := map[string]int{}
	batches := map[string]bool{}
	for page, err := range c.Alerts(context.Background(), acronis.AlertQuery{Tenants: tenants, Limit: 7, Types: []string{"BackupFailed"}}) {
		if err != nil {
			t.Fatal(err)
		}
		batches[strings.Join(page.Batch, ",")] = true
		for _, a := range page.Items {
			seen[a.ID]++
		}
	}
	reqs := requestsTo(sim, acronis.AlertsPath)
	if len(batches) != 3 || len(reqs) <= 3 {
		t.Fatalf("%d batches in %d requests, want 3 batches over several pages", len(batches), len(reqs))
	}
	for i, q := range reqs {
		if n := len(q["tenant"]); n == 0 || n > 100 || q.Get("type") != "BackupFailed" || q.Get("show_deleted") != "false" {
			t.Fatalf("request %d: %d tenants, filters %v", i, n, q)
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("alert %s came %d times", id, n)
		}
	}
	if len(seen) == 0 {
		t.Fatal("no alerts at all")
	}
}

// A page that does not fit the document stops the walk with an error naming
// the page's fault, after the good pages were handed over.
func TestAlertsBadSecondPage(t *testing.T) {
	pages := []string{
		alertWith(`"category":"Backup"`, `"category":"Backup"`),
		`{"items":[{"id":"x"}],"paging":{"cursors":{}}}`,
	}
	var got []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Query())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, pages[min(len(got)-1, 1)])
	}))
	defer srv.Close()
	c, err := acronis.NewClient(srv.URL, staticOK{}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	var items int
	var last error
	for page, err := range c.Alerts(context.Background(), acronis.AlertQuery{Tenants: []string{"56", "57"}}) {
		items += len(page.Items)
		last = err
	}
	if items != 1 || last == nil || !strings.Contains(last.Error(), "items[0]: type: missing") {
		t.Fatalf("%d items, err %v", items, last)
	}
	if len(got) != 2 || got[1].Get("after") != "c2" || len(got[1]["tenant"]) != 2 {
		t.Fatalf("second request %v: want the cursor and the tenant filter again", got)
	}
}

func TestAlertsRefusesBadInput(t *testing.T) {
	c, err := acronis.NewClient("http://127.0.0.1:1", staticOK{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tenants := range [][]string{nil, {"a,b"}, {""}, {"or(1)"}} {
		for _, err := range c.Alerts(context.Background(), acronis.AlertQuery{Tenants: tenants}) {
			if err == nil || !strings.Contains(err.Error(), "acronis: alerts") {
				t.Fatalf("tenants %q: err %v", tenants, err)
			}
		}
	}
}

// An empty page that still carries a cursor is not the end: the walk follows
// it (a server filtering after paging can answer such pages).
func TestAlertsEmptyPageWithCursor(t *testing.T) {
	pages := []string{
		`{"items":[],"paging":{"cursors":{"after":"c1"}}}`,
		strings.Replace(alertWith(`"category":"Backup"`, `"category":"Backup"`), `"after":"c2"`, `"after":""`, 1),
	}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, pages[min(n, 1)])
		n++
	}))
	defer srv.Close()
	c, err := acronis.NewClient(srv.URL, staticOK{}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	items := 0
	for page, err := range c.Alerts(context.Background(), acronis.AlertQuery{Tenants: []string{"56"}}) {
		if err != nil {
			t.Fatal(err)
		}
		items += len(page.Items)
	}
	if items != 1 || n != 2 {
		t.Fatalf("%d items in %d requests, want 1 in 2", items, n)
	}
}

// A server handing back the same cursor forever stops the walk with an error.
func TestAlertsRepeatedCursor(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"items":[],"paging":{"cursors":{"after":"same"}}}`)
	}))
	defer srv.Close()
	c, err := acronis.NewClient(srv.URL, staticOK{}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for _, err := range c.Alerts(context.Background(), acronis.AlertQuery{Tenants: []string{"56"}}) {
		last = err
	}
	if last == nil || !strings.Contains(last.Error(), "cursor repeated") || n != 2 {
		t.Fatalf("err %v after %d requests", last, n)
	}
}
