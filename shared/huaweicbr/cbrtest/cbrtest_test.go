package cbrtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr/cbrtest"
)

// call sends a signed (or token, or unsigned) request and decodes the answer.
func call(t *testing.T, sim *cbrtest.Server, method, path, auth string) (int, map[string]any) {
	t.Helper()
	c := sim.Credentials()
	req, err := http.NewRequest(method, sim.URL()+strings.ReplaceAll(path, "{p}", c.ProjectID), nil)
	if err != nil {
		t.Fatal(err)
	}
	switch auth {
	case "sign":
		if err := huaweicbr.Sign(req, c.AccessKey, c.SecretKey, time.Now()); err != nil {
			t.Fatal(err)
		}
	case "badsign":
		_ = huaweicbr.Sign(req, c.AccessKey, "not-the-secret-key", time.Now())
	default:
		req.Header.Set("X-Auth-Token", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d answer is not a JSON object: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// field is obj[k], failing the test when obj is not an object.
func field(t *testing.T, obj any, k string) any {
	t.Helper()
	m, ok := obj.(map[string]any)
	if !ok {
		t.Fatalf("want an object holding %q, got %v", k, obj)
	}
	return m[k]
}

// checkKeys fails unless obj has every key of must and none outside may.
func checkKeys(t *testing.T, what string, obj any, must, may string) {
	t.Helper()
	got := keys(obj)
	allowed := strings.Fields(must + " " + may)
	for _, k := range strings.Fields(must) {
		if !slices.Contains(got, k) {
			t.Errorf("%s: %q missing (has %v)", what, k, got)
		}
	}
	for _, k := range got {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s: %q is not a documented field", what, k)
		}
	}
}

const (
	opDef      = "day_backups max_backups month_backups retention_duration_days timezone week_backups year_backups"
	policyKeys = "id name enabled operation_type operation_definition trigger associated_vaults"
	orgKeys    = "id name operation_type domain_id policy_name policy_enabled policy_operation_definition policy_trigger status"
	memberKeys = "policy_id domain_id project_id status error_msg"
)

// Every answer uses exactly the documented names (see the package doc).
func TestAnswersUseDocumentedNames(t *testing.T) {
	sim := cbrtest.NewServer(t, cbrtest.Config{})
	sim.Populate(1, 10, 6)
	st, list := call(t, sim, "GET", "/v3/{p}/policies", "sign")
	checkKeys(t, "policies list", list, "policies count", "")
	pols, _ := list["policies"].([]any)
	if st != 200 || len(pols) != 10 {
		t.Fatalf("policies: %d, %d items", st, len(pols))
	}
	for _, p := range pols {
		checkKeys(t, "policy", p, policyKeys, "policy_type")
		checkKeys(t, "operation_definition", field(t, p, "operation_definition"), "", opDef)
		checkKeys(t, "trigger", field(t, p, "trigger"), "id properties", "name type")
		checkKeys(t, "trigger.properties", field(t, field(t, p, "trigger"), "properties"), "pattern", "start_time")
	}
	_, one := call(t, sim, "GET", "/v3/{p}/policies/"+fmt.Sprint(field(t, pols[0], "id")), "sign")
	checkKeys(t, "show policy", one, "policy", "")
	for _, op := range []string{"backup", "replication"} {
		_, orgs := call(t, sim, "GET", "/v3/{p}/organization-policies?operation_type="+op, "sign")
		checkKeys(t, "organization policies list", orgs, "policies count limit offset", "")
		list, _ := orgs["policies"].([]any)
		for _, o := range list {
			checkKeys(t, "organization policy", o, orgKeys, "domain_name effective_scope")
			checkKeys(t, "policy_operation_definition", field(t, o, "policy_operation_definition"), "", opDef)
			checkKeys(t, "policy_trigger", field(t, o, "policy_trigger"), "properties", "")
			if t.Failed() {
				t.FailNow()
			}
			checkKeys(t, "policy_trigger.properties", field(t, field(t, o, "policy_trigger"), "properties"), "pattern", "")
			id := fmt.Sprint(field(t, o, "id"))
			_, show := call(t, sim, "GET", "/v3/{p}/organization-policies/"+id, "sign")
			checkKeys(t, "show organization policy", show, "policy", "")
			_, detail := call(t, sim, "GET", "/v3/{p}/organization-policies/"+id+"/policy-detail", "sign")
			checkKeys(t, "policy-detail", detail, "policies count limit offset", "")
			members, _ := detail["policies"].([]any)
			for _, m := range members {
				checkKeys(t, "delivery status", m, memberKeys, "")
			}
		}
	}
}

// The simulator rejects what the service rejects, in the documented envelope.
func TestRejects(t *testing.T) {
	sim := cbrtest.NewServer(t, cbrtest.Config{AuthToken: "good-token"})
	id := sim.AddOrganizationPolicy(cbrtest.OrganizationPolicy{Name: "o", OperationType: "backup"}, nil)
	tests := []struct {
		name, method, path, auth string
		status                   int
		code                     string
	}{
		{"unknown path", "GET", "/v3/{p}/no-such-thing", "sign", 404, "APIG.0101"},
		{"unknown version", "GET", "/v9/{p}/policies", "sign", 404, "APIG.0101"},
		{"write method on a read path", "DELETE", "/v3/{p}/policies", "sign", 404, "APIG.0101"},
		{"bad signature", "GET", "/v3/{p}/policies", "badsign", 401, "APIG.0301"},
		{"unknown token", "GET", "/v3/{p}/policies", "stolen-token", 401, "APIG.0301"},
		{"other project", "GET", "/v3/ffffffffffffffffffffffffffffffff/policies", "sign", 403, "APIG.0302"},
		{"operation_type on policies", "GET", "/v3/{p}/policies?operation_type=archive", "sign", 400, "BackupService.0001"},
		{"operation_type missing", "GET", "/v3/{p}/organization-policies", "sign", 400, "BackupService.0001"},
		{"operation_type invalid", "GET", "/v3/{p}/organization-policies?operation_type=Backup", "sign", 400, "BackupService.0001"},
		{"limit 0", "GET", "/v3/{p}/organization-policies?operation_type=backup&limit=0", "sign", 400, "BackupService.0001"},
		{"limit 1001", "GET", "/v3/{p}/organization-policies?operation_type=backup&limit=1001", "sign", 400, "BackupService.0001"},
		{"offset -1", "GET", "/v3/{p}/organization-policies?operation_type=backup&offset=-1", "sign", 400, "BackupService.0001"},
		{"unknown policy", "GET", "/v3/{p}/policies/nope", "sign", 404, "BackupService.6201"},
		{"unknown organization policy", "GET", "/v3/{p}/organization-policies/nope/policy-detail", "good-token", 404, "BackupService.6201"},
		{"token accepted", "GET", "/v3/{p}/organization-policies/" + id, "good-token", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := call(t, sim, tt.method, tt.path, tt.auth)
			if st != tt.status {
				t.Fatalf("status %d, want %d (%v)", st, tt.status, body)
			}
			if tt.code == "" {
				return
			}
			checkKeys(t, "error", body, "error_code error_msg", "")
			if body["error_code"] != tt.code {
				t.Fatalf("error_code %v, want %s", body["error_code"], tt.code)
			}
		})
	}
}

// API-NOTES.md: the server's limit "may be lower than asked, up to 1000";
// policy-detail "has no documented limit/offset parameters".
func TestPagingAnswers(t *testing.T) {
	sim := cbrtest.NewServer(t, cbrtest.Config{MaxLimit: 25, DetailPage: 4})
	for range 30 {
		sim.AddOrganizationPolicy(cbrtest.OrganizationPolicy{OperationType: "backup"}, nil)
	}
	ms := make([]cbrtest.MemberStatus, 6)
	id := sim.AddOrganizationPolicy(cbrtest.OrganizationPolicy{OperationType: "replication"}, ms)
	tests := []struct {
		name, path                 string
		items, count, limit, offst float64
	}{
		{"limit capped", "/v3/{p}/organization-policies?operation_type=backup&limit=1000&offset=0", 25, 30, 25, 0},
		{"second page", "/v3/{p}/organization-policies?operation_type=backup&limit=1000&offset=25", 5, 30, 25, 25},
		{"past the end", "/v3/{p}/organization-policies?operation_type=backup&offset=40", 0, 30, 25, 40},
		{"lower limit kept", "/v3/{p}/organization-policies?operation_type=backup&limit=10", 10, 30, 10, 0},
		{"detail ignores offset", "/v3/{p}/organization-policies/" + id + "/policy-detail?limit=2&offset=4", 4, 6, 4, 0},
		{"detail ignores a bad limit", "/v3/{p}/organization-policies/" + id + "/policy-detail?limit=0", 4, 6, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := call(t, sim, "GET", tt.path, "sign")
			items, _ := body["policies"].([]any)
			if st != 200 || float64(len(items)) != tt.items || body["count"] != tt.count || body["limit"] != tt.limit || body["offset"] != tt.offst {
				t.Fatalf("status %d, %d items, count %v limit %v offset %v", st, len(items), body["count"], body["limit"], body["offset"])
			}
		})
	}
}
