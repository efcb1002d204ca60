package acronis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

const agentOK = `{"id":"8f27a66f-71ff-4b5c-b665-75ec0f42b849","core_version":{"current":{"release_id":"1.0.0","build":"42"}},"units":[],
 "auto_update":true,"meta":{"last_seen":"2026-11-29T08:00:00"},"hostname":"server1.acme.local",
 "platform":{"family":"WINDOWS","arch":"X64","name":"Windows 2019","version_major":10,"version_minor":0},
 "tenant":{"id":"64","name":"ACME"},"name":"My Appliance","online":false,"enabled":true,
 "registration_date":"Tue, 04 Jun 2019 18:32:26 +0300","registration_id":"eO2uM8QwSIC3nh0FxiZmjArpW-U",
 "installer_version":{"current":{"major":15,"minor":0,"build_number":27714}},"timezone":"+0300"}`

func agentWith(from, to string) string {
	if !strings.Contains(agentOK, from) {
		panic("fixture has no " + from)
	}
	return `{"items":[` + strings.Replace(agentOK, from, to, 1) + `],"paging":{"cursors":{"after":"g2","before":"g0"}}}`
}

func TestDecodeAgents(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    string
		check      func(a acronis.Agent) bool
	}{
		{"document shape, last seen without zone", agentWith(`"online":false`, `"online":false`), "", func(a acronis.Agent) bool {
			return a.Hostname == "server1.acme.local" && a.TenantID == "64" && !a.Online && a.Platform == "WINDOWS" &&
				a.LastSeen.Equal(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)) && a.RegisteredAt.Equal(time.Date(2019, 6, 4, 15, 32, 26, 0, time.UTC))
		}},
		{"no last seen is kept, not dropped", agentWith(`"meta":{"last_seen":"2026-11-29T08:00:00"}`, `"meta":{}`), "", func(a acronis.Agent) bool { return a.LastSeen == nil }},
		{"unreadable registration date is left out", agentWith(`Tue, 04 Jun 2019 18:32:26 +0300`, `2019`), "", func(a acronis.Agent) bool { return a.RegisteredAt == nil }},
		{"last seen unreadable", agentWith(`"2026-11-29T08:00:00"`, `"last week"`), "meta.last_seen: time", nil},
		{"last seen not a string", agentWith(`"2026-11-29T08:00:00"`, `12`), "meta.last_seen: not a string", nil},
		{"online missing", agentWith(`"online":false,`, ``), "items[0]: online: missing", nil},
		{"tenant without name", agentWith(`"tenant":{"id":"64","name":"ACME"}`, `"tenant":{"id":"64"}`), "tenant: id and name are required", nil},
		{"hostname missing", agentWith(`"hostname":"server1.acme.local",`, ``), "hostname: missing", nil},
		{"paging missing (required)", `{"items":[]}`, "paging.cursors: missing", nil},
		{"online not a boolean", agentWith(`"online":false`, `"online":"no"`), "decode", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, after, err := acronis.DecodeAgents([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || after != "g2" || !tt.check(items[0]) {
				t.Fatalf("got %+v after %q", items, after)
			}
		})
	}
}

func FuzzDecodeAgents(f *testing.F) {
	f.Add([]byte(agentWith(`"online":false`, `"online":false`)))
	f.Add([]byte(`{"items":[],"paging":{"cursors":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, _, err := acronis.DecodeAgents(b)
		if err != nil {
			return
		}
		for _, a := range items {
			if a.ID == "" {
				t.Fatalf("accepted an agent without id: %+v", a)
			}
		}
	})
}

// One walk from the MSP root returns every machine's agent across pages that
// carry only limit and after; offline agents come with and without a
// last-seen time, and none is lost.
func TestAgentsWalkWholeTree(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 9})
	ids := sim.GenerateTree(2, 20, 0)
	machines(sim, ids, 5) // partners and customers alike
	c, _ := newClient(t, sim)
	sim.ResetLog()
	seen := map[string]bool{}
	var offline, noLastSeen int
	for page, err := range c.Agents(context.Background(), acronis.AgentQuery{SubtreeRoot: sim.RootTenantID(), Limit: 33}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			if seen[a.ID] {
				t.Fatalf("agent %s twice", a.ID)
			}
			seen[a.ID] = true
			if !a.Online {
				offline++
				if a.LastSeen == nil {
					noLastSeen++
				}
			}
		}
	}
	if want := len(ids) * 5; len(seen) != want {
		t.Fatalf("%d agents, want %d", len(seen), want)
	}
	if offline == 0 || noLastSeen == 0 || noLastSeen == offline {
		t.Fatalf("%d offline, %d without last-seen: the fixture should have both kinds", offline, noLastSeen)
	}
	reqs := requestsTo(sim, acronis.AgentsPath)
	for i, q := range reqs[1:] {
		if len(q) != 2 || q.Get("after") == "" {
			t.Fatalf("page %d sends %v: the document allows only limit beside after", i+2, q)
		}
	}
	if len(reqs) < 2 {
		t.Fatalf("%d requests: want several pages", len(reqs))
	}
}
