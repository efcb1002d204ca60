package acronistest

import "regexp"

// knownViolation is a break of the documents that belongs to a file another
// engineer is rewriting now (the simulator's provisioning.go and reports.go,
// the client's provisioning.go). Matching violations are kept apart (Known)
// and fail no test; a matching request still reaches its handler. Remove an
// entry as soon as its owner's fix lands: the check then guards the fix.
type knownViolation struct {
	side, docOp string
	field       *regexp.Regexp
	owner       string
	reason      string
}

// knownViolations is the one allow-list of the contract check.
var knownViolations = []knownViolation{
	{"answer", "GET /tenants/{tenant_id}/offering_items/available_for_child", regexp.MustCompile(`^/items/\d+/(tenant_id|status)$`),
		"acronistest/provisioning.go", "the document's offeringItem requires tenant_id and status; the simulator's available-for-child items carry neither"},
	{"answer", "PUT /tenants/{tenant_id}/offering_items", regexp.MustCompile(`^/items/\d+/tenant_id$`),
		"acronistest/provisioning.go", "offeringItem requires tenant_id; the simulator's answer items lack it"},
	{"answer", "GET /tenants/{tenant_id}/offering_items", regexp.MustCompile(`^/items/\d+/tenant_id$`),
		"acronistest/provisioning.go", "offeringItem requires tenant_id; the simulator's items lack it"},
	{"answer", "PUT /tenants/{tenant_id}/edition", regexp.MustCompile(`^/items/\d+/tenant_id$`),
		"acronistest/provisioning.go", "the edition switch answers offering items without the required tenant_id"},
	{"answer", "GET /users", regexp.MustCompile(`^/items/\d+(/.*)?$`),
		"acronistest/provisioning.go", "the simulator's users lack required fields (access_policies, disable_after, origin_id, origin_external_id, personal_tenant_id) and carry ones the user schema does not admit (activated, business_types, contact, language, notifications...)"},
	{"answer", "PUT /users/{user_id}/access_policies", regexp.MustCompile(`^/items/\d+/(created_at|updated_at|deleted_at)$`),
		"acronistest/provisioning.go", "accessPolicy items require created_at, updated_at, deleted_at; the simulator echoes the client's items without them"},
	{"answer", "PUT /tenants/{tenant_id}/pricing", regexp.MustCompile(`^/production_start_date$`),
		"acronistest/provisioning.go", "production_start_date must be a date-time (pattern \\d{4}-\\d{2}-\\d{2}T..., at least 19 characters); the simulator answers a date"},
	{"request", "PUT /users/{user_id}/access_policies", regexp.MustCompile(`^(/timestamp|/items/\d+/(created_at|updated_at|deleted_at))$`),
		"acronis/provisioning.go", "the document's accessPolicies body requires timestamp and each item's created_at, updated_at, deleted_at; the client sends none"},
	{"answer", "POST /reports", regexp.MustCompile(`^/parameters/formats/\d+$`),
		"acronistest/reports.go", `the simulator echoes "json_v2_0", which the request schema admits and the answer schema's enum lacks (API-NOTES: "json_v2_0 can be requested but is not in it")`},
	{"answer", "GET /reports/{report_id}/stored", regexp.MustCompile(`^/items/\d+/report_format$`),
		"acronistest/reports.go", `stored report_format "json_v2_0" is outside the document's enum [json_v1, csv_v2_0, csv, html]`},
}

// known reports whether v is on the allow-list.
func known(v Violation) bool {
	for _, k := range knownViolations {
		if k.side == v.Side && k.docOp == v.docOp && k.field.MatchString(v.Field) {
			return true
		}
	}
	return false
}

// splitKnown separates allowed violations from the rest.
func splitKnown(vs []Violation) (rest, allowed []Violation) {
	for _, v := range vs {
		if known(v) {
			allowed = append(allowed, v)
		} else {
			rest = append(rest, v)
		}
	}
	return rest, allowed
}
