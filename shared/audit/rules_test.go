package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
)

var now = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func item(t *testing.T, policies string) acronis.PolicyStatusItem {
	t.Helper()
	var it acronis.PolicyStatusItem
	body := `{"context":{"agent_id":"a","agent_name":"DESKTOP-1","id":"r1","name":"DESKTOP-1","tenant_id":"17","tenant_name":"Cust","type":"resource.machine","user_defined_name":"DESKTOP-1"},"policies":` + policies + `}`
	if err := json.Unmarshal([]byte(body), &it); err != nil {
		t.Fatal(err)
	}
	return it
}

func rulesOf(fs []Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Rule+":"+f.Severity)
	}
	return strings.Join(s, ",")
}

func TestAcronisRules(t *testing.T) {
	r := Rules{}.WithDefaults()
	tests := []struct {
		name, policies, want string
	}{
		{"ok", `[{"names":["P"],"status":"ok","running":{"state":"idle"},"next_run_time":"2026-11-22T12:00:00Z"}]`, ""},
		{"warning", `[{"status":"warning","running":{"state":"idle"}}]`, "policy_status:warning"},
		{"error is critical", `[{"status":"error","running":{"state":"idle"}}]`, "policy_status:critical"},
		{"critical", `[{"status":"critical","running":{"state":"idle"}}]`, "policy_status:critical"},
		{"not protected", `[{"status":"not_protected","running":{"state":"idle"}}]`, "no_protection:warning"},
		{"no policies", `[]`, "no_protection:warning"},
		{"unknown status kept", `[{"status":"paused_by_admin","running":{"state":"idle"}}]`, "unknown_status:unknown"},
		{"next run 3 h late", `[{"status":"ok","running":{"state":"idle"},"next_run_time":"2026-11-22T05:00:00Z"}]`, "next_run_in_past:warning"},
		{"next run late, no zone, fractions", `[{"status":"ok","running":{"state":"idle"},"next_run_time":"2026-11-22T05:00:00.123456"}]`, "next_run_in_past:warning"},
		{"never ran for 2 days", `[{"status":"ok","running":{"state":"idle"},"next_run_time":"2026-11-20T05:00:00+00:00"}]`, "no_recent_run:critical"},
		{"late but running now", `[{"status":"ok","running":{"state":"running"},"next_run_time":"2026-11-20T05:00:00Z"}]`, ""},
		{"last run too old", `[{"status":"ok","running":{"state":"idle"},"last_run_time":"2026-11-19T00:00:00Z","next_run_time":"2026-11-22T12:00:00Z"}]`, "no_recent_run:critical"},
		// An old last success is stale_backup's (judged with the evidence), not a second critical here.
		{"last success too old, last run recent", `[{"status":"ok","running":{"state":"idle"},"last_success_time":"2026-11-19T00:00:00Z","last_run_time":"2026-11-22T06:00:00Z","next_run_time":"2026-11-22T12:00:00Z"}]`, ""},
		{"unreadable time", `[{"status":"ok","running":{"state":"idle"},"next_run_time":"yesterday"}]`, "schedule_unreadable:unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := r.AcronisResource(item(t, tt.policies), "uuid-1", now)
			if got := rulesOf(fs); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for _, f := range fs {
				if f.TenantLegacyID != "17" || f.TenantID != "uuid-1" || f.Customer != "Cust" || f.Key == "" {
					t.Fatalf("finding %+v", f)
				}
			}
		})
	}
}

func ip(n int) *int { return &n }

func TestCBRRules(t *testing.T) {
	r := Rules{}.WithDefaults()
	pol := func(enabled bool, pattern string, days *int) huaweicbr.Policy {
		p := huaweicbr.Policy{ID: "p1", Name: "policy001", Enabled: enabled, OperationType: "backup"}
		p.Trigger.Properties.Pattern = []string{pattern}
		p.OperationDefinition.RetentionDurationDays = days
		return p
	}
	daily := "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=14;BYMINUTE=00"
	tests := []struct {
		name string
		p    huaweicbr.Policy
		want string
	}{
		{"daily, 35 days", pol(true, daily, ip(35)), ""},
		{"disabled", pol(false, daily, ip(35)), "policy_disabled:warning"},
		{"weekly", pol(true, "FREQ=WEEKLY;BYDAY=SU;BYHOUR=3", ip(90)), "backup_interval:warning"},
		{"1 day retention (the seed)", pol(true, daily, ip(1)), "retention:warning"},
		{"-1 is forever", pol(true, daily, ip(-1)), ""},
		{"unset is forever", pol(true, daily, nil), ""},
		{"bad schedule", pol(true, "FREQ=SOMETIMES", ip(35)), "schedule_unreadable:unknown"},
	}
	for _, tt := range tests {
		if got := rulesOf(r.CBRPolicy(tt.p, "proj")); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	msg := "quota exceeded"
	org := huaweicbr.OrganizationPolicy{ID: "o1", Name: "org", OperationType: "backup"}
	org.Trigger.Properties.Pattern = []string{daily}
	fs := r.CBROrganizationPolicy(org, []huaweicbr.MemberStatus{
		{DomainID: "d1", ProjectID: "p1", Status: "available"},
		{DomainID: "d2", ProjectID: "p2", Status: "error", ErrorMsg: &msg},
		{DomainID: "d3", ProjectID: "p3", Status: "syncing"},
	})
	if got := rulesOf(fs); got != "org_policy_not_delivered:critical,org_policy_not_delivered:warning" {
		t.Fatalf("got %q", got)
	}
	if !strings.Contains(fs[0].Message, "quota exceeded") || fs[0].Customer != "account d2 / project p2" || fs[0].Resource != "member project p2" {
		t.Fatalf("error_msg lost: %+v", fs[0])
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		body, wantErr string
		full          bool
	}{
		{``, "", true},
		{`{}`, "", true},
		{`{"tenant_ids":["5b15f6e1-88ec-4dce-b523-0e8394c0bc19"]}`, "", false},
		{`{"providers":["huaweicbr"]}`, "", false},
		{`{"tenant_ids":["17"]}`, `field "tenant_ids"`, false},
		{`{"providers":["aws"]}`, `field "providers": "aws"`, false},
		{`{"tenant":"x"}`, `unknown field "tenant"`, false},
	}
	for _, tt := range tests {
		r, err := ParseRequest([]byte(tt.body))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.body, err, tt.wantErr)
			}
			continue
		}
		if err != nil || r.Full() != tt.full {
			t.Errorf("%s: %+v %v", tt.body, r, err)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"tenant_ids":["5b15f6e1-88ec-4dce-b523-0e8394c0bc19"],"providers":["acronis"]}`))
	f.Add([]byte(`{"providers":[""]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		for _, p := range r.Providers {
			if p != Acronis && p != HuaweiCBR {
				t.Fatalf("accepted provider %q", p)
			}
		}
		for _, id := range r.TenantIDs {
			if acronis.CheckUUID(id) != nil {
				t.Fatalf("accepted tenant id %q", id)
			}
		}
	})
}

// Names come from tenants and CBR accounts: the report escapes them.
func TestReportEscapes(t *testing.T) {
	var b strings.Builder
	evil := `<script>alert(1)</script>"'&`
	fs := []Finding{{Key: "k", Provider: Acronis, Severity: Critical, Rule: RuleStatus, Customer: evil, Resource: evil, Policy: evil, Message: evil}}
	if err := renderHTML(&b, Summary{RunID: evil, Total: 1, BySeverity: map[string]int{Critical: 1}, Providers: map[string]Stats{Acronis: {Status: evil}}}, fs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>alert") || strings.Contains(out, `data-customer="<`) {
		t.Fatal("unescaped input in the report")
	}
	if strings.Count(out, "&lt;script&gt;alert(1)&lt;/script&gt;") < 5 {
		t.Fatal("escaped names missing from the report")
	}
}
