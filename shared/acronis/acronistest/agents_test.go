package acronistest_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
)

// The derived data hold every case the audit must report: each failing
// machine has a failed task with an error text; some failing machines have
// no alert; some alerts name machines that do not exist; some offline agents
// have no last-seen time.
func TestBadCasesPresent(t *testing.T) {
	f := newFixture(t, 10, 30, 500)
	ctx := context.Background()
	exists, failing := map[string]bool{}, map[string]bool{}
	for page, err := range f.c.PolicyStatuses(ctx, f.tenants, 500) {
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			exists[it.Context.ID] = true
			if len(it.Policies) > 0 && (it.Policies[0].Status == "error" || it.Policies[0].Status == "critical") {
				failing[it.Context.ID] = true
			}
		}
	}
	alerted, ghosts := map[string]bool{}, 0
	for page, err := range f.c.Alerts(ctx, acronis.AlertQuery{Tenants: f.tenants}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Items {
			alerted[a.ResourceID] = true
			if !exists[a.ResourceID] {
				ghosts++
			}
			if a.Message == "" {
				t.Errorf("alert %s without text", a.ID)
			}
		}
	}
	var ids []string
	for id := range failing {
		ids = append(ids, id)
	}
	var tasks []acronis.Task
	for page, err := range f.c.Tasks(ctx, acronis.TaskQuery{ResourceIDs: ids}) {
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, page.Items...)
	}
	sum := acronis.Summarize(tasks)
	unalerted, neverOK := 0, 0
	for id := range failing {
		if !alerted[id] {
			unalerted++
		}
		r := sum[id]
		if r == nil || len(r.Failures) == 0 || r.Failures[0].Error == nil || r.Failures[0].Error.Text == "" {
			t.Errorf("failing machine %s without a failed task and its text: %+v", id, r)
		} else if r.LastSuccess == nil {
			neverOK++
		}
	}
	var offline, noLastSeen int
	for page, err := range f.c.Agents(ctx, acronis.AgentQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			if !a.Online {
				offline++
				if a.LastSeen == nil {
					noLastSeen++
				}
			}
		}
	}
	t.Logf("%d failing (%d without alert, %d never succeeded), %d ghost alerts, %d offline agents (%d without last-seen)",
		len(failing), unalerted, neverOK, ghosts, offline, noLastSeen)
	if len(failing) == 0 || unalerted == 0 || unalerted == len(failing) || ghosts == 0 || neverOK == 0 || offline == 0 || noLastSeen == 0 || noLastSeen == offline {
		t.Fatal("a case is missing from the derived data")
	}
}

// A before cursor answers the page before: walking forward then back gives
// the same agents.
func TestAgentsBeforeCursor(t *testing.T) {
	f := newFixture(t, 3, 10, 500)
	ids := func(body []byte) (out []string, after, before string) {
		var p struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Paging struct {
				Cursors struct{ After, Before string } `json:"cursors"`
			} `json:"paging"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			out = append(out, it.ID)
		}
		return out, p.Paging.Cursors.After, p.Paging.Cursors.Before
	}
	_, b1 := f.raw(t, acronis.AgentsPath, url.Values{"limit": {"4"}})
	first, after, before := ids(b1)
	if before != "" || after == "" || len(first) != 4 {
		t.Fatalf("first page: %d items, after %q before %q", len(first), after, before)
	}
	_, b2 := f.raw(t, acronis.AgentsPath, url.Values{"limit": {"4"}, "after": {after}})
	_, _, back := ids(b2)
	_, b3 := f.raw(t, acronis.AgentsPath, url.Values{"limit": {"4"}, "before": {back}})
	again, _, _ := ids(b3)
	if len(again) != len(first) || again[0] != first[0] || again[3] != first[3] {
		t.Fatalf("back to %v, want %v", again, first)
	}
}
