package audit_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/audit"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
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
