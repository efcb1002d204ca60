package acronis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strings"
)

// PolicyStatusItem is one resource with the execution status of each policy
// applied to it (GET /api/policy_management/v4/policy_statuses), in the
// shape of seed 000 and API-NOTES.
type PolicyStatusItem struct {
	Context struct {
		AgentID         string   `json:"agent_id"`
		AgentName       string   `json:"agent_name"`
		ID              string   `json:"id"`
		Name            string   `json:"name"`
		TenantID        LegacyID `json:"tenant_id"` // legacy numeric id
		TenantName      string   `json:"tenant_name"`
		Type            string   `json:"type"`
		UserDefinedName string   `json:"user_defined_name"`
	} `json:"context"`
	Policies []PolicyState `json:"policies"`
}

// PolicyState is one policy's execution status on a resource. LastRunTime and
// LastSuccessTime are read when the API provides them (not in every answer).
type PolicyState struct {
	ID              string   `json:"id,omitempty"`
	Names           []string `json:"names"`
	NextRunTime     string   `json:"next_run_time,omitempty"`
	LastRunTime     string   `json:"last_run_time,omitempty"`
	LastSuccessTime string   `json:"last_success_time,omitempty"`
	Running         struct {
		State string `json:"state"`
	} `json:"running"`
	Status string `json:"status"`
	Type   string `json:"type"`
}

// PolicySummary is one policy with how many resources are in each status,
// the v4 OpenAPI document's answer for the same path: "a list of
// applications grouped by provided policy", items being CompositePolicyStatus
// (arrays of PolicyStatus {policy, contexts{number_of_resources_by_status}}).
type PolicySummary struct {
	Policy struct {
		ID         string   `json:"id"`
		Name       string   `json:"name"`
		Type       string   `json:"type"`
		TenantID   LegacyID `json:"tenant_id"`
		TenantName string   `json:"tenant_name"`
		Enabled    bool     `json:"enabled"`
	} `json:"policy"`
	Contexts struct {
		Total    int `json:"total_number_or_resources"` // sic, the document's spelling
		ByStatus []struct {
			Status string `json:"status"`
			Value  int    `json:"value"`
		} `json:"number_of_resources_by_status"`
	} `json:"contexts"`
}

// PolicyStatusesPath is the policy-management v4 endpoint.
const PolicyStatusesPath = "/api/policy_management/v4/policy_statuses"

// PolicyStatuses walks the statuses of every resource of the given tenants
// (UUIDs), in or(...) batches of at most 100, every cursor page. Each page
// comes with the batch it was asked for, so callers can map the items'
// legacy tenant ids back to UUIDs. The tenant_id filter is sent with every
// page: the v4 document does not say its cursor carries it.
func (c *Client) PolicyStatuses(ctx context.Context, tenantIDs []string, limit int) iter.Seq2[PolicyStatusPage, error] {
	return func(yield func(PolicyStatusPage, error) bool) {
		for batch := range slices.Chunk(tenantIDs, MaxBatch) {
			for _, id := range batch {
				if err := CheckUUID(id); err != nil {
					yield(PolicyStatusPage{}, err)
					return
				}
			}
			filter := batch[0]
			if len(batch) > 1 {
				filter = "or(" + strings.Join(batch, ",") + ")"
			}
			q := url.Values{"tenant_id": {filter}}
			for raw, err := range PagesRepeatingFilters[json.RawMessage](ctx, c, PolicyStatusesPath, q, limit) {
				page := PolicyStatusPage{Batch: batch}
				if err == nil {
					page.Items, page.ByPolicy, err = DecodePolicyStatusItems(raw)
				}
				if err != nil {
					err = fmt.Errorf("acronis: GET %s: %w", PolicyStatusesPath, err)
				}
				if !yield(page, err) || err != nil {
					return
				}
			}
		}
	}
}

// PolicyStatusPage is one page of statuses and the tenant batch it answers:
// Items when the answer has the seed's per-resource shape, ByPolicy when it
// has the v4 document's per-policy shape.
type PolicyStatusPage struct {
	Batch    []string
	Items    []PolicyStatusItem
	ByPolicy []PolicySummary
}

// DecodePolicyStatusItems sorts each item into the shape it has: an object
// with context/policies (seed 000), or an array of {policy, contexts} (the
// v4 document; a bare {policy, contexts} object is read the same). Any other
// item is an error naming the shape found.
func DecodePolicyStatusItems(raw []json.RawMessage) ([]PolicyStatusItem, []PolicySummary, error) {
	var items []PolicyStatusItem
	var sums []PolicySummary
	for i, r := range raw {
		r = bytes.TrimSpace(r)
		var err error
		switch shape := itemShape(r); shape {
		case "seed":
			var it PolicyStatusItem
			err = json.Unmarshal(r, &it)
			items = append(items, it)
		case "document":
			var group []PolicySummary
			err = json.Unmarshal(r, &group)
			sums = append(sums, group...)
		case "document-object":
			var s PolicySummary
			err = json.Unmarshal(r, &s)
			sums = append(sums, s)
		default:
			return nil, nil, fmt.Errorf("policy statuses: item %d: unexpected shape %s; want {context, policies} (seed 000) or [{policy, contexts}] (v4 document)", i, shape)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("policy statuses: item %d: %w", i, err)
		}
	}
	return items, sums, nil
}

// itemShape names an item's shape: "seed", "document", "document-object",
// or a description of what it is instead.
func itemShape(r json.RawMessage) string {
	if len(r) == 0 {
		return "(empty)"
	}
	switch r[0] {
	case '[':
		var group []map[string]json.RawMessage
		if json.Unmarshal(r, &group) != nil {
			return "(an array of non-objects)"
		}
		for _, g := range group {
			if _, ok := g["policy"]; !ok {
				return "(an array of objects without policy)"
			}
		}
		return "document"
	case '{':
		var m map[string]json.RawMessage
		if json.Unmarshal(r, &m) != nil {
			return "(malformed object)"
		}
		_, hasCtx := m["context"]
		_, hasPolicy := m["policy"]
		switch {
		case hasCtx:
			return "seed"
		case hasPolicy:
			return "document-object"
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(keys) > 8 {
			keys = append(keys[:8], "...")
		}
		return fmt.Sprintf("(an object with keys %v)", keys)
	}
	return "(not an object or an array)"
}
