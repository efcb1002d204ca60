package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/audit"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr/cbrtest"
)

// An organization policy as CBR answers it. API-NOTES.md: "an organization
// policy has id, name, operation_type, domain_id, domain_name, policy_name,
// policy_enabled, policy_operation_definition (same fields as
// operation_definition), policy_trigger{properties{pattern}}, status,
// effective_scope" (the official SDK's model.OrganizationPolicy agrees).
func orgPolicyJSON(enabled bool, pattern string, days int) string {
	b, _ := json.Marshal(map[string]any{
		"id": "o1", "name": "org-weekly", "operation_type": "backup", "domain_id": "d0", "domain_name": "org-admin",
		"policy_name": "weekly", "policy_enabled": enabled, "status": "available", "effective_scope": "All_ACCOUNTS",
		"policy_operation_definition": map[string]any{"retention_duration_days": days, "timezone": "UTC+08:00"},
		"policy_trigger":              map[string]any{"properties": map[string]any{"pattern": []string{pattern}}},
	})
	return string(b)
}

func TestCBROrganizationPolicyJudgedByWireNames(t *testing.T) {
	daily := "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=14;BYMINUTE=00"
	weekly := "FREQ=WEEKLY;BYDAY=SU;BYHOUR=3;BYMINUTE=00"
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"enabled, daily, 35 days", orgPolicyJSON(true, daily, 35), nil},
		{"disabled", orgPolicyJSON(false, daily, 35), []string{audit.RuleDisabled}},
		{"weekly", orgPolicyJSON(true, weekly, 35), []string{audit.RuleInterval}},
		{"7 days kept", orgPolicyJSON(true, daily, 7), []string{audit.RuleRetention}},
		{"all three", orgPolicyJSON(false, weekly, 1), []string{audit.RuleDisabled, audit.RuleInterval, audit.RuleRetention}},
	}
	r := audit.Rules{}.WithDefaults()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p huaweicbr.OrganizationPolicy
			if err := json.Unmarshal([]byte(tt.body), &p); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range r.CBROrganizationPolicy(p, nil) {
				got = append(got, f.Rule)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("rules %v, want %v", got, want)
			}
		})
	}
}

// Through the CBR source against the simulator, which answers only the
// documented names: a disabled, weekly, 7-day organization policy is judged
// on all three, and a delivery detail the server will not page through is
// reported as unchecked instead of failing the CBR half.
func TestCBRSourceJudgesOrganizationPolicies(t *testing.T) {
	sim := cbrtest.NewServer(t, cbrtest.Config{DetailPage: 2})
	bad := cbrtest.OrganizationPolicy{Name: "org-weak", PolicyName: "org-weak", OperationType: "backup", PolicyEnabled: false, Status: "available"}
	bad.PolicyOperationDefinition.RetentionDurationDays = ip(7)
	bad.PolicyTrigger.Properties.Pattern = []string{"FREQ=WEEKLY;BYDAY=SU;BYHOUR=3;BYMINUTE=00"}
	badID := sim.AddOrganizationPolicy(bad, []cbrtest.MemberStatus{{DomainID: "d1", ProjectID: "p1", Status: "available"}})
	good := cbrtest.OrganizationPolicy{Name: "org-good", PolicyName: "org-good", OperationType: "replication", PolicyEnabled: true, Status: "available"}
	good.PolicyOperationDefinition.RetentionDurationDays = ip(35)
	good.PolicyTrigger.Properties.Pattern = []string{"FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=00"}
	var many []cbrtest.MemberStatus
	for i := range 5 {
		many = append(many, cbrtest.MemberStatus{DomainID: fmt.Sprint("d", i), ProjectID: fmt.Sprint("p", i), Status: "available"})
	}
	goodID := sim.AddOrganizationPolicy(good, many)

	src := &audit.CBRSource{Client: huaweicbr.New(sim.Credentials(), nil), Project: "proj"}
	fs, st, err := src.Collect(context.Background(), audit.Rules{}.WithDefaults())
	if err != nil || st.OrgPolicies != 2 {
		t.Fatalf("collect: %+v %v", st, err)
	}
	got := map[string][]string{}
	for _, f := range fs {
		got[f.PolicyID] = append(got[f.PolicyID], f.Rule+":"+f.Severity)
	}
	for id, want := range map[string][]string{
		badID:  {audit.RuleInterval + ":warning", audit.RuleDisabled + ":warning", audit.RuleRetention + ":warning"},
		goodID: {audit.RuleDelivery + ":unknown"},
	} {
		slices.Sort(got[id])
		slices.Sort(want)
		if !slices.Equal(got[id], want) {
			t.Errorf("policy %s: findings %v, want %v", id, got[id], want)
		}
	}
}

func ip(n int) *int { return &n }
