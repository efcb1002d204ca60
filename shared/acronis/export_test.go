package acronis

import (
	"bytes"
	"context"
	"time"
)

// Helpers only the tests use: the whole-batch forms of the streaming usage
// calls, when a resource started failing, and the request-count model the
// tests and BenchmarkRequestsPerRun hold the simulator's log to.

// FailingSince is the completion time of the oldest failure after the last
// success (zero when the resource is not failing).
func (r *ResourceTasks) FailingSince() time.Time {
	if len(r.Failures) == 0 || r.Failures[len(r.Failures)-1].CompletedAt == nil {
		return time.Time{}
	}
	return *r.Failures[len(r.Failures)-1].CompletedAt
}

// RunLoad is the size of one audit run's alert, task and agent walks: how
// many ids are batched and how many items come back. Limits of 0 are the
// clients' defaults.
type RunLoad struct {
	Tenants   int // tenants whose alerts are read (tenant= batches of MaxBatch)
	Resources int // resources whose tasks are read (resourceId= batches); 0 = one walk of the whole scope
	Alerts    int // alerts returned
	Tasks     int // tasks returned
	Agents    int // agents returned (one walk from the subtree root)

	AlertLimit, TaskLimit, AgentLimit int
}

// RunRequests counts requests per family.
type RunRequests struct{ Alerts, Tasks, Agents int }

// Total is the requests of all three families.
func (r RunRequests) Total() int { return r.Alerts + r.Tasks + r.Agents }

// Requests bounds the requests one run makes for l: every batch costs at
// least one request and every limit items at least one page, so a family
// with b batches and n items takes between max(b, ceil(n/limit)) and
// b + ceil(n/limit) requests (token requests not counted).
func (l RunLoad) Requests() (least, most RunRequests) {
	fam := func(ids, items, limit, def int) (int, int) {
		if limit <= 0 {
			limit = def
		}
		b := 1
		if ids > 0 {
			b = (ids + MaxBatch - 1) / MaxBatch
		}
		pages := (items + limit - 1) / limit
		return max(b, pages), b + pages
	}
	least.Alerts, most.Alerts = fam(l.Tenants, l.Alerts, l.AlertLimit, DefaultAlertLimit)
	least.Tasks, most.Tasks = fam(l.Resources, l.Tasks, l.TaskLimit, DefaultTaskLimit)
	least.Agents, most.Agents = fam(0, l.Agents, l.AgentLimit, DefaultAgentLimit)
	return least, most
}

// DecodeUsagesBatch decodes the batch answer.
func DecodeUsagesBatch(b []byte) ([]TenantUsage, error) {
	var out []TenantUsage
	err := decodeUsagesBatch(bytes.NewReader(b), func(tu TenantUsage) error {
		out = append(out, tu)
		return nil
	})
	return out, err
}

// UsagesBatch fetches usage for up to MaxBatch tenants in one call. Tenants the
// caller may not see are left out of the answer by the platform: callers that
// must account for every tenant compare the answer with ids.
func (c *Client) UsagesBatch(ctx context.Context, ids []string) ([]TenantUsage, error) {
	var out []TenantUsage
	err := AgainIfCut(ctx, func(ctx context.Context) error {
		out = out[:0]
		return c.EachTenantUsage(ctx, ids, func(tu TenantUsage) error {
			out = append(out, tu)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
