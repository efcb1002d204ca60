package acronis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

// The seed and the v4 document disagree on the answer's shape: both decode,
// anything else is an error naming what was found.
func TestDecodePolicyStatusItems(t *testing.T) {
	const seed = `{"context":{"id":"r1","tenant_id":"17","tenant_name":"A","type":"resource.machine"},"policies":[{"names":[],"running":{"state":"idle"},"status":"ok","type":"policy.backup.machine"}]}`
	const doc = `[{"policy":{"id":"p1","name":"Plan","type":"policy.backup.machine","tenant_id":"17","enabled":true},"contexts":{"total_number_or_resources":3,"number_of_resources_by_status":[{"status":"idle","value":2},{"status":"error","value":1}]}}]`
	tests := []struct {
		name, items     string
		wantItems, sums int
		wantErr         string
	}{
		{"seed", `[` + seed + `,` + seed + `]`, 2, 0, ""},
		{"document", `[` + doc + `]`, 0, 1, ""},
		{"document bare object", `[` + strings.Trim(doc, "[]") + `]`, 0, 1, ""},
		{"mixed", `[` + seed + `,` + doc + `]`, 1, 1, ""},
		{"unknown object", `[{"resource":{},"state":"ok"}]`, 0, 0, "item 0: unexpected shape (an object with keys [resource state])"},
		{"array of strings", `[["a"]]`, 0, 0, "unexpected shape (an array of non-objects)"},
		{"array without policy", `[[{"x":1}]]`, 0, 0, "unexpected shape (an array of objects without policy)"},
		{"scalar", `[5]`, 0, 0, "unexpected shape (not an object or an array)"},
		{"seed with a wrong type", `[{"context":{"tenant_id":true},"policies":[]}]`, 0, 0, "item 0: legacy tenant id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw []json.RawMessage
			if err := json.Unmarshal([]byte(tt.items), &raw); err != nil {
				t.Fatal(err)
			}
			items, sums, err := acronis.DecodePolicyStatusItems(raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(items) != tt.wantItems || len(sums) != tt.sums {
				t.Fatalf("items %d sums %d err %v, want %d %d", len(items), len(sums), err, tt.wantItems, tt.sums)
			}
		})
	}
}

func FuzzDecodePolicyStatusItems(f *testing.F) {
	f.Add(`[{"context":{"tenant_id":"1"},"policies":[]}]`)
	f.Add(`[[{"policy":{"tenant_id":"2"},"contexts":{"total_number_or_resources":1}}]]`)
	f.Add(`[{"policy":{}},[],{},"x",null]`)
	f.Fuzz(func(t *testing.T, s string) {
		var raw []json.RawMessage
		if json.Unmarshal([]byte(s), &raw) != nil {
			return
		}
		items, sums, err := acronis.DecodePolicyStatusItems(raw)
		if err == nil && len(items)+len(sums) < countObjects(raw) {
			t.Fatalf("%d items and %d summaries from %d entries without error", len(items), len(sums), len(raw))
		}
	})
}

// countObjects is how many entries are single objects (each yields one item
// or one summary; arrays may yield none or many).
func countObjects(raw []json.RawMessage) int {
	n := 0
	for _, r := range raw {
		if s := strings.TrimSpace(string(r)); strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n
}

// policyTree gives two customers five resources each.
func policyTree(t *testing.T, cfg acronistest.Config) (*acronistest.Server, []string) {
	sim := acronistest.NewServer(t, cfg)
	ids := sim.GenerateTree(1, 2, 0)
	customers := []string{ids[1], ids[2]}
	for i, id := range customers {
		sim.AddResources(id, 5, int64(i+1))
	}
	return sim, customers
}

// The simulator answers in either shape and the client reads both: the
// document's per-policy counts add up to the resources the seed lists.
func TestPolicyStatusesBothShapes(t *testing.T) {
	for _, shape := range []string{acronistest.PolicyShapeSeed, acronistest.PolicyShapeDocument} {
		t.Run(shape, func(t *testing.T) {
			sim, customers := policyTree(t, acronistest.Config{PolicyStatusShape: shape, PageCap: 3})
			c, _ := newClient(t, sim)
			var items, counted int
			for page, err := range c.PolicyStatuses(context.Background(), customers, 3) {
				if err != nil {
					t.Fatal(err)
				}
				items += len(page.Items)
				for _, s := range page.ByPolicy {
					counted += s.Contexts.Total
				}
			}
			switch shape {
			case acronistest.PolicyShapeSeed:
				if items != 10 || counted != 0 {
					t.Fatalf("seed: %d items, %d counted; want 10 resources", items, counted)
				}
			default:
				if items != 0 || counted < 8 {
					t.Fatalf("document: %d items, %d resource applications counted; want per-policy counts only", items, counted)
				}
			}
		})
	}
}

// Page 2 and later send tenant_id again: the v4 document does not say its
// cursor carries the filter, and a page without it widens to every tenant.
func TestPolicyStatusesPage2CarriesFilter(t *testing.T) {
	sim, customers := policyTree(t, acronistest.Config{PageCap: 2})
	c, _ := newClient(t, sim)
	want := fmt.Sprint(sim.TenantLegacyID(customers[0]))
	n := 0
	for page, err := range c.PolicyStatuses(context.Background(), customers[:1], 2) {
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			n++
			if string(it.Context.TenantID) != want {
				t.Errorf("item of tenant %s in the batch of %s", it.Context.TenantID, want)
			}
		}
	}
	if n != 5 {
		t.Errorf("%d items, want the customer's 5", n)
	}
	pages := 0
	for _, r := range sim.Requests() {
		if r.Path != acronis.PolicyStatusesPath {
			continue
		}
		pages++
		if q, _ := url.ParseQuery(r.Query); q.Get("tenant_id") != customers[0] {
			t.Errorf("request %q lacks tenant_id=%s", r.Query, customers[0])
		}
	}
	if pages < 3 {
		t.Fatalf("%d pages, want at least 3 with PageCap 2", pages)
	}
}
