package acronistest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

// Usage answers match the spec's usageList and batchUsageList schemas, and
// bad requests get the documented errors.
func TestUsageEndpoints(t *testing.T) {
	spec, err := acronistest.LoadSpec(acronistest.SpecAccountManagement)
	if err != nil {
		t.Fatal(err)
	}
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
	}{
		{"batch", tok, "/api/2/tenants/usages?tenants=" + strings.Join(ids[:5], ","), "/tenants/usages", 200, 5},
		{"batch skips foreign", ptok, "/api/2/tenants/usages?tenants=" + ids[0] + "," + partnerB, "/tenants/usages", 200, 1},
		{"batch skips unknown", tok, "/api/2/tenants/usages?tenants=00000000-0000-4000-8000-000000000000," + ids[1], "/tenants/usages", 200, 1},
		{"batch missing tenants", tok, "/api/2/tenants/usages", "/tenants/usages", 400, -1},
		{"batch not a uuid", tok, "/api/2/tenants/usages?tenants=1234", "/tenants/usages", 400, -1},
		{"batch over 100", tok, "/api/2/tenants/usages?tenants=" + strings.Join(many, ","), "/tenants/usages", 400, -1},
		{"batch unauthorized", "", "/api/2/tenants/usages?tenants=" + ids[0], "/tenants/usages", 401, -1},
		{"single", tok, "/api/2/tenants/" + ids[1] + "/usages", "/tenants/{tenant_id}/usages", 200, -1},
		{"single foreign", ptok, "/api/2/tenants/" + ids[1] + "/usages", "/tenants/{tenant_id}/usages", 403, -1},
		{"single unknown", tok, "/api/2/tenants/00000000-0000-4000-8000-000000000000/usages", "/tenants/{tenant_id}/usages", 404, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := call(t, sim, tt.tok, "GET", tt.path, "")
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, body)
			}
			// The spec documents no 400/404 for these paths; the envelope is the common one.
			if st == 200 || st == 401 || st == 403 {
				v, err := spec.CheckResponse("GET", tt.specPath, st, body)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range v {
					t.Error(x)
				}
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
	spec, err := acronistest.LoadSpec(acronistest.SpecAccountManagement)
	if err != nil {
		t.Fatal(err)
	}
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 3})
	ids := sim.GenerateTree(1, 1, 0)
	sim.SetUsageQuirks(true)
	cid, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, cid, secret)
	st, body := call(t, sim, tok, "GET", "/api/2/tenants/"+ids[1]+"/usages", "")
	if st != 200 {
		t.Fatalf("status %d", st)
	}
	v, err := spec.CheckResponse("GET", "/tenants/{tenant_id}/usages", 200, body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(v, "\n"), "not an integer") {
		t.Fatalf("violations %q, want a non-integer one", v)
	}
}
