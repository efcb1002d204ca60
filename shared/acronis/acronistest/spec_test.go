package acronistest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

// Call performs a raw request against the simulator with a fresh token.
func call(t *testing.T, sim *acronistest.Server, tok, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, sim.URL()+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// The simulator's answers, success and error alike, match Acronis's OpenAPI schemas.
func TestResponsesMatchSpec(t *testing.T) {
	spec, err := acronistest.LoadSpec(acronistest.SpecAccountManagement)
	if err != nil {
		t.Fatal(err)
	}
	sim := acronistest.NewServer(t, acronistest.Config{PageCap: 2})
	ids := sim.GenerateTree(1, 2, 1)
	cid, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, cid, secret)
	root := sim.RootTenantID()
	cust := ids[1]
	tests := []struct {
		name, method, path, specPath, body string
		status                             int
	}{
		{"token", "", "", "/idp/token", "", 200},
		{"get client", "GET", "/api/2/clients/" + cid, "/clients/{client_id}", "", 200},
		{"list tenants", "GET", "/api/2/tenants?subtree_root_id=" + root, "/tenants", "", 200},
		{"get tenant", "GET", "/api/2/tenants/" + cust, "/tenants/{tenant_id}", "", 200},
		{"children", "GET", "/api/2/tenants/" + root + "/children", "/tenants/{tenant_id}/children", "", 200},
		{"create tenant", "POST", "/api/2/tenants", "/tenants", `{"name":"New Co","parent_id":"` + ids[0] + `","kind":"customer","customer_id":"CRM-9","internal_tag":"t"}`, 201},
		{"update tenant", "PUT", "/api/2/tenants/" + cust, "/tenants/{tenant_id}", `{"version":1,"enabled":false}`, 200},
		{"version mismatch", "PUT", "/api/2/tenants/" + cust, "/tenants/{tenant_id}", `{"version":1,"enabled":false}`, 409},
		{"not found", "GET", "/api/2/tenants/00000000-0000-4000-8000-000000000000", "/tenants/{tenant_id}", "", 404},
		{"unauthorized", "GET", "/api/2/tenants/" + cust, "/tenants/{tenant_id}", "", 401},
		{"bad request", "GET", "/api/2/tenants", "/tenants", "", 400},
		{"unsupported media", "POST", "/api/2/tenants", "/tenants", "", 415},
		{"create report", "POST", "/api/2/reports", "/reports", `{"recipients":[],"result_action":"save","schedule":{"type":"once"},"parameters":{"tenant_id":"` + root + `","level":"accounts","kind":"usage_summary","formats":["csv","html"],"period":{"start":"2026-10-01","end":"2026-10-31"}}}`, 200},
		{"bad report", "POST", "/api/2/reports", "/reports", `{"recipients":[],"result_action":"save","schedule":{"type":"once"},"parameters":{"tenant_id":"` + root + `","level":"accounts","kind":"usage_summary","formats":["pdf"]}}`, 400},
		{"stored reports", "GET", "", "/reports/{report_id}/stored", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st int
			var body []byte
			switch tt.name {
			case "token":
				st, body = acronistest.TokenResponse(t, sim, cid, secret)
			case "unauthorized":
				st, body = call(t, sim, "", tt.method, tt.path, tt.body)
			case "unsupported media":
				req, _ := http.NewRequest("POST", sim.URL()+tt.path, strings.NewReader("x"))
				req.Header.Set("Content-Type", "text/plain")
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				st = resp.StatusCode
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			case "stored reports":
				_, created := call(t, sim, tok, "POST", "/api/2/reports", `{"recipients":[],"result_action":"save","schedule":{"type":"once"},"parameters":{"tenant_id":"`+root+`","level":"accounts","kind":"usage_current","formats":["csv"]}}`)
				var rep struct{ ID string }
				_ = json.Unmarshal(created, &rep)
				st, body = call(t, sim, tok, "GET", "/api/2/reports/"+rep.ID+"/stored", "")
				if !strings.Contains(string(body), `"saved"`) {
					t.Fatalf("stored list %s", body)
				}
			default:
				st, body = call(t, sim, tok, tt.method, tt.path, tt.body)
			}
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, body)
			}
			method := tt.method
			if method == "" {
				method = "POST"
			}
			violations, err := spec.CheckResponse(method, tt.specPath, st, body)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range violations {
				t.Error(v)
			}
		})
	}
}

// The checker itself finds what is wrong (a checker that passes anything proves nothing).
func TestCheckerFindsViolations(t *testing.T) {
	spec, err := acronistest.LoadSpec(acronistest.SpecAccountManagement)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, body, want string }{
		{"missing required", `{"items":[]}`, "missing required timestamp"},
		{"wrong type in a oneOf", `{"timestamp":"2020-01-01T00:00:00Z","items":[{"id":5}]}`, "$.items[0].id: not a string"},
		{"bad enum", `{"client_id":"x","type":"robot"}`, "robot is not one of"},
		{"bad pattern", `{"client_id":"not-a-uuid"}`, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/tenants"
			if strings.Contains(tt.body, "client_id") {
				path = "/clients/{client_id}"
			}
			v, err := spec.CheckResponse("GET", path, 200, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(v, "\n"), tt.want) {
				t.Fatalf("violations %q, want one containing %q", v, tt.want)
			}
		})
	}
}
