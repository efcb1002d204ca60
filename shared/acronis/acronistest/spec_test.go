package acronistest_test

import (
	"fmt"
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

// The simulator's answers, success and error alike, pass the contract check
// that runs on every request (a violation fails the subtest's simulator at
// cleanup; here each case also asserts none was found).
func TestResponsesMatchSpec(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{PageCap: 2})
	ids := sim.GenerateTree(1, 2, 1)
	cid, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, cid, secret)
	root := sim.RootTenantID()
	cust := ids[1]
	report := `{"recipients":[],"result_action":"save","schedule":{"type":"once"},"parameters":{"tenant_id":"` + root + `","level":"accounts","kind":"usage_summary","formats":["csv","html"],"period":{"start":"2026-10-01","end":"2026-10-31"}}}`
	tests := []struct {
		name, method, path, body, ctype string
		status                          int
		rejected                        bool // breaks the document on purpose
	}{
		{"get client", "GET", "/api/2/clients/" + cid, "", "", 200, false},
		{"list tenants", "GET", "/api/2/tenants?subtree_root_id=" + root, "", "", 200, false},
		{"get tenant", "GET", "/api/2/tenants/" + cust, "", "", 200, false},
		{"children", "GET", "/api/2/tenants/" + root + "/children", "", "", 200, false},
		{"create tenant", "POST", "/api/2/tenants", `{"name":"New Co","parent_id":"` + ids[0] + `","kind":"customer","customer_id":"CRM-9","internal_tag":"t"}`, "", 201, false},
		{"update tenant", "PUT", "/api/2/tenants/" + cust, `{"version":1,"enabled":false}`, "", 200, false},
		{"version mismatch", "PUT", "/api/2/tenants/" + cust, `{"version":1,"enabled":false}`, "", 409, false},
		{"not found", "GET", "/api/2/tenants/00000000-0000-4000-8000-000000000000", "", "", 404, false},
		{"unauthorized", "GET", "/api/2/tenants/" + cust, "", "", 401, false},
		{"no filter", "GET", "/api/2/tenants", "", "", 400, false},
		{"unsupported media", "POST", "/api/2/tenants", "x", "text/plain", 415, true},
		{"undocumented parameter", "GET", "/api/2/tenants?subtree_root_id=" + root + "&colour=red", "", "", 400, true},
		{"exclusive filters", "GET", "/api/2/tenants?subtree_root_id=" + root + "&parent_id=" + root, "", "", 400, true},
		{"create report", "POST", "/api/2/reports", report, "", 200, false},
		{"bad report format", "POST", "/api/2/reports", strings.Replace(report, `"csv","html"`, `"pdf"`, 1), "", 400, true},
		{"policy statuses", "GET", "/api/policy_management/v4/policy_statuses?tenant_id=" + cust, "", "", 200, false},
		{"policy statuses unauthorized", "GET", "/api/policy_management/v4/policy_statuses", "", "", 401, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(sim.Violations())
			if tt.rejected {
				sim.ExpectRejected(tt.method, strings.Split(tt.path, "?")[0])
			}
			key := tok
			if strings.Contains(tt.name, "unauthorized") {
				key = ""
			}
			st, body := send(t, sim, key, tt.method, tt.path, tt.ctype, tt.body)
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, body)
			}
			if v := sim.Violations()[before:]; len(v) > 0 {
				t.Errorf("violations: %v", v)
			}
		})
	}
	t.Run("token", func(t *testing.T) {
		if st, body := acronistest.TokenResponse(t, sim, cid, secret); st != 200 {
			t.Fatalf("token %d %s", st, body)
		}
	})
}

// send is call with a chosen Content-Type.
func send(t *testing.T, sim *acronistest.Server, tok, method, path, ctype, body string) (int, []byte) {
	t.Helper()
	if ctype == "" {
		return call(t, sim, tok, method, path, body)
	}
	req, _ := http.NewRequest(method, sim.URL()+path, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// A request that breaks the document gets the platform's 400 naming the
// parameter or field at fault.
func TestRejectionNamesTheField(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{})
	cid, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, cid, secret)
	root := sim.RootTenantID()
	many := strings.TrimSuffix(strings.Repeat(root+",", 101), ",")
	tests := []struct{ name, method, path, body, want string }{
		{"undocumented parameter", "GET", "/api/2/tenants?subtree_root_id=" + root + "&colour=red", "", `colour: undocumented query parameter`},
		{"bad uuid pattern", "GET", "/api/2/tenants?uuids=not-a-uuid-at-all-not-a-uuid-at-all!", "", "uuids"},
		{"more than 100 uuids", "GET", "/api/2/tenants?uuids=" + many, "", "uuids: 101 items, more than 100"},
		{"more than 100 usage tenants", "GET", "/api/2/tenants/usages?tenants=" + many, "", "tenants: 101 items"},
		{"bad enum in body", "POST", "/api/2/tenants", `{"name":"X","parent_id":"` + root + `","kind":"robot"}`, "/kind"},
		{"bad limit", "GET", "/api/2/tenants?subtree_root_id=" + root + "&limit=0", "", "limit"},
		{"policy or() over 100", "GET", "/api/policy_management/v4/policy_statuses?tenant_id=or(" + many + ")", "", "tenant_id: 101 items"},
		{"psa body not empty", "POST", "/api/advanced-automation/v1/Customer?Page=1&PageSize=10", `{"Page":1}`, "body: the filters go in the query string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim.ExpectRejected(tt.method, strings.Split(tt.path, "?")[0])
			st, body := call(t, sim, tok, tt.method, tt.path, tt.body)
			if st != http.StatusBadRequest || !strings.Contains(string(body), tt.want) {
				t.Fatalf("got %d %s, want 400 naming %q", st, body, tt.want)
			}
		})
	}
}

// The answer check finds what is wrong (a checker that passes anything
// proves nothing) and passes what is right.
func TestCheckerFindsViolations(t *testing.T) {
	const uuid = "0f0e0d0c-0b0a-4908-8706-050403020100"
	tests := []struct {
		name, method, target string
		status               int
		ctype, body, want    string // want "" = no violation
	}{
		{"good client", "GET", "/api/2/clients/" + uuid, 200, "application/json", `{"client_id":"` + uuid + `","tenant_id":"` + uuid + `","type":"api_client",
			"client_secret_expires_at":0,"token_endpoint_auth_method":"client_secret_basic","created_at":"2020-01-01T00:00:00Z","created_by":"` + uuid + `",
			"last_access_at":null,"last_access_from_ip":null,"status":"enabled","data":{"client_name":"x"}}`, ""},
		{"bad enum", "GET", "/api/2/clients/" + uuid, 200, "application/json", `{"client_id":"` + uuid + `","type":"robot"}`, "/type"},
		{"bad pattern", "GET", "/api/2/clients/" + uuid, 200, "application/json", `{"client_id":"not-a-uuid"}`, "/client_id"},
		{"missing required", "GET", "/api/2/tenants", 200, "application/json", `{"items":[]}`, "timestamp"},
		{"wrong type", "GET", "/api/2/tenants", 200, "application/json", `{"timestamp":"2020-01-01T00:00:00Z","items":[{"id":5}]}`, "/items/0/id"},
		{"undocumented 2xx", "GET", "/api/2/tenants", 204, "application/json", ``, "204 is not a documented answer"},
		{"error envelope", "GET", "/api/2/tenants", 400, "application/json", `{"error":{"code":"BadRequest","message":"m","domain":"AccountServer","details":{"info":null}}}`, ""},
		{"bad error envelope", "GET", "/api/2/tenants", 400, "application/json", `{"message":"m"}`, "error"},
		{"undocumented error, right envelope", "POST", "/api/2/tenants", 409, "application/json", `{"error":{"code":1004,"message":"m","domain":"AccountServer","details":{"info":null}}}`, ""},
		{"not JSON", "GET", "/api/2/tenants", 200, "text/html", `<html>`, "Content-Type"},
		{"v4 doc shape", "GET", "/api/policy_management/v4/policy_statuses", 200, "application/json", `{"items":[],"paging":{"cursors":{}},"timestamp":"2020-01-01T00:00:00Z"}`, ""},
		{"v4 seed shape against the document", "GET", "/api/policy_management/v4/policy_statuses", 200, "application/json",
			`{"items":[{"context":{"id":"x"},"policies":[]}],"paging":{"cursors":{}},"timestamp":"2020-01-01T00:00:00Z"}`, "/items/0"},
		{"v4 error", "GET", "/api/policy_management/v4/policy_statuses", 400, "application/json", `{"code":"BadRequest","domain":"PolicyManagement"}`, "/code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := acronistest.CheckAnswer(tt.method, tt.target, tt.status, tt.ctype, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprint(v)
			if tt.want == "" && len(v) > 0 || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("violations %s, want %q", got, tt.want)
			}
		})
	}
}

// Requests are checked against the documents, the prose rules and the hand
// rules, without a simulator in the way.
func TestCheckRequest(t *testing.T) {
	const a, b = "0f0e0d0c-0b0a-4908-8706-050403020100", "1f0e0d0c-0b0a-4908-8706-050403020100"
	tests := []struct{ name, method, target, ctype, body, want string }{
		{"good tenants", "GET", "/api/2/tenants?uuids=" + a + "," + b + "&lod=basic", "", "", ""},
		{"exclusive", "GET", "/api/2/tenants?uuids=" + a + "&subtree_root_id=" + b, "", "", "mutually exclusive"},
		{"unknown param", "GET", "/api/2/tenants?subtree_root_id=" + a + "&x=1", "", "", "x: undocumented query parameter"},
		{"no such operation", "DELETE", "/api/2/tenants", "", "", "not an operation"},
		{"no document", "GET", "/api/nothing/v1/x", "", "", "no Acronis document covers this path"},
		{"good body", "PUT", "/api/2/tenants/" + a, "application/json", `{"version":1,"enabled":false}`, ""},
		{"wrong body type", "PUT", "/api/2/tenants/" + a, "application/json", `{"version":"one"}`, "/version"},
		{"token form", "POST", "/api/2/idp/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", ""},
		{"policy statuses", "GET", "/api/policy_management/v4/policy_statuses?tenant_id=or(" + a + "," + b + ")&limit=10", "", "", ""},
		{"policy bad limit", "GET", "/api/policy_management/v4/policy_statuses?limit=ten", "", "", "limit"},
		{"psa person", "POST", "/api/advanced-automation/v1/Person?Page=1&PageSize=50&Customer=" + a, "", "", ""},
		{"psa person no customer", "POST", "/api/advanced-automation/v1/Person?Page=1&PageSize=50", "", "", "Customer: required"},
		{"psa bad page", "POST", "/api/advanced-automation/v1/Customer?Page=0&PageSize=50", "", "", "Page: not an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://sim"+tt.target, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			got := fmt.Sprint(acronistest.CheckRequest(req, []byte(tt.body)))
			if tt.want == "" && got != "[]" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("violations %s, want %q", got, tt.want)
			}
		})
	}
}

// GET /users/me answers the document's userMe (lod=me), every required
// field of the full user schema included.
func TestUsersMeMatchesSpec(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{})
	sim.AddLoginUser("admin", "pw", "")
	req, _ := http.NewRequest("GET", sim.URL()+"/api/2/users/me", nil)
	req.SetBasicAuth("admin", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if v := sim.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
}
