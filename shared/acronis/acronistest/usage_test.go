package acronistest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

// Usage answers match the spec's usageList and batchUsageList schemas, and
// bad requests get the documented errors.
func TestUsageEndpoints(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 3})
	ids := sim.GenerateTree(2, 3, 1)
	partnerB := ids[len(ids)/2]
	cid, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, cid, secret)
	// A client scoped to the second partner: the first partner's tenants are foreign to it.
	pid, psecret := sim.AddAPIClient(partnerB)
	ptok := acronistest.MintToken(t, sim, pid, psecret)
	many := make([]string, 101)
	for i := range many {
		many[i] = ids[0]
	}
	tests := []struct {
		name, tok, path, specPath string
		status, wantTenants       int
		rejected                  bool // breaks the document: refused before the handler
	}{
		{"batch", tok, "/api/2/tenants/usages?tenants=" + strings.Join(ids[:5], ","), "/tenants/usages", 200, 5, false},
		{"batch skips foreign", ptok, "/api/2/tenants/usages?tenants=" + ids[0] + "," + partnerB, "/tenants/usages", 200, 1, false},
		{"batch skips unknown", tok, "/api/2/tenants/usages?tenants=00000000-0000-4000-8000-000000000000," + ids[1], "/tenants/usages", 200, 1, false},
		{"batch missing tenants", tok, "/api/2/tenants/usages", "/tenants/usages", 400, -1, true},
		{"batch not a uuid", tok, "/api/2/tenants/usages?tenants=1234", "/tenants/usages", 400, -1, true},
		{"batch over 100", tok, "/api/2/tenants/usages?tenants=" + strings.Join(many, ","), "/tenants/usages", 400, -1, true},
		{"batch unauthorized", "", "/api/2/tenants/usages?tenants=" + ids[0], "/tenants/usages", 401, -1, false},
		{"single", tok, "/api/2/tenants/" + ids[1] + "/usages", "/tenants/{tenant_id}/usages", 200, -1, false},
		{"single foreign", ptok, "/api/2/tenants/" + ids[1] + "/usages", "/tenants/{tenant_id}/usages", 403, -1, false},
		{"single unknown", tok, "/api/2/tenants/00000000-0000-4000-8000-000000000000/usages", "/tenants/{tenant_id}/usages", 404, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rejected {
				sim.ExpectRejected("GET", strings.Split(tt.path, "?")[0])
			}
			before := len(sim.Violations())
			st, body := call(t, sim, tt.tok, "GET", tt.path, "")
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, body)
			}
			// Every answer was checked against tt.specPath's operation on its way out.
			if v := sim.Violations()[before:]; len(v) > 0 {
				t.Errorf("violations: %v", v)
			}
			if tt.wantTenants >= 0 {
				var out struct {
					Items []struct {
						Tenant string            `json:"tenant"`
						Usages []json.RawMessage `json:"usages"`
					} `json:"items"`
				}
				if err := json.Unmarshal(body, &out); err != nil {
					t.Fatal(err)
				}
				if len(out.Items) != tt.wantTenants {
					t.Fatalf("%d tenants, want %d", len(out.Items), tt.wantTenants)
				}
				for _, it := range out.Items {
					if len(it.Usages) < 3 {
						t.Fatalf("tenant %s: %d usages", it.Tenant, len(it.Usages))
					}
				}
			}
		})
	}
}

// With quirks on, answers carry what the field has seen (fractions, string
// legacy ids), which the spec does not allow: the checker must notice.
func TestUsageQuirksLeaveTheSpec(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 3})
	ids := sim.GenerateTree(1, 1, 0)
	sim.SetUsageQuirks(true)
	cid, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, cid, secret)
	st, body := call(t, sim, tok, "GET", "/api/2/tenants/"+ids[1]+"/usages", "")
	if st != 200 {
		t.Fatalf("status %d: %s", st, body)
	}
	// Kept as deviations (on purpose), not violations (which fail the test).
	v := fmt.Sprint(sim.Deviations())
	if !strings.Contains(v, "/tenant_id") || !strings.Contains(v, "integer") {
		t.Fatalf("deviations %s, want the string tenant_id and a fractional value noticed", v)
	}
}
