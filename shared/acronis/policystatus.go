package acronis

import (
	"context"
	"iter"
	"net/url"
	"strings"
)

// PolicyStatusItem is one resource with the execution status of each policy
// applied to it (GET /api/policy_management/v4/policy_statuses).
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

// PolicyStatusesPath is the policy-management v4 endpoint.
const PolicyStatusesPath = "/api/policy_management/v4/policy_statuses"

// PolicyStatuses walks the statuses of every resource of the given tenants
// (UUIDs), in or(...) batches of at most 100, every cursor page. Each page
// comes with the batch it was asked for, so callers can map the items'
// legacy tenant ids back to UUIDs.
func (c *Client) PolicyStatuses(ctx context.Context, tenantIDs []string, limit int) iter.Seq2[PolicyStatusPage, error] {
	return func(yield func(PolicyStatusPage, error) bool) {
		for _, batch := range Batches(tenantIDs, MaxBatch) {
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
			for items, err := range Pages[PolicyStatusItem](ctx, c, PolicyStatusesPath, url.Values{"tenant_id": {filter}}, limit) {
				if !yield(PolicyStatusPage{Batch: batch, Items: items}, err) || err != nil {
					return
				}
			}
		}
	}
}

// PolicyStatusPage is one page of statuses and the tenant batch it answers.
type PolicyStatusPage struct {
	Batch []string
	Items []PolicyStatusItem
}
