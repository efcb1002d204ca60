package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"golang.org/x/sync/errgroup"
)

// Stats describe what a provider's collection covered.
type Stats struct {
	Status      string `json:"status"` // ok, failed: ..., skipped: ...
	Tenants     int    `json:"tenants,omitempty"`
	Resources   int    `json:"resources,omitempty"`
	Policies    int    `json:"policies,omitempty"`
	OrgPolicies int    `json:"org_policies,omitempty"`
	Members     int    `json:"members,omitempty"` // CBR organization policy deliveries read
	Alerts      int    `json:"alerts,omitempty"`  // active alerts read
	Tasks       int    `json:"tasks,omitempty"`   // completed tasks read
	Agents      int    `json:"agents,omitempty"`
	Findings    int    `json:"findings"`
	// Problems are answers the audit could not fully use (an endpoint
	// down, an item it could not read): the run goes on without them.
	Problems []string `json:"problems,omitempty"`
	// OldestSuccess is, per tenant, the oldest last successful backup
	// among its protected resources; NeverSucceeded counts those with none.
	OldestSuccess  map[string]time.Time `json:"oldest_last_success,omitempty"`
	NeverSucceeded map[string]int       `json:"never_succeeded,omitempty"`
}

// AcronisSource collects policy execution statuses, and the alerts, tasks
// and agents that say why a resource fails and since when.
type AcronisSource struct {
	Client    *acronis.Client
	PageLimit int // items per page asked for (default 500)
}

// acronisResource is one resource's policy statuses and its tenant.
type acronisResource struct {
	item       acronis.PolicyStatusItem
	tenantUUID string
}

// policyCounts is a policy's resources counted by status (the v4 document's
// answer shape) and its tenant.
type policyCounts struct {
	summary    acronis.PolicySummary
	tenantUUID string
}

// Collect judges every resource of the given tenants, or of every customer
// under root when none are given.
func (a *AcronisSource) Collect(ctx context.Context, rules Rules, root string, tenantIDs []string, now time.Time) ([]Finding, Stats, error) {
	names, ids, err := a.tenants(ctx, root, tenantIDs)
	if err != nil {
		return nil, Stats{}, err
	}
	res, counts, st, err := a.statuses(ctx, names, ids)
	if err != nil {
		return nil, Stats{}, err
	}
	ev := a.evidence(ctx, rules, res, agentRoots(root, tenantIDs), now)
	out := judgeAcronis(rules, res, ev, now)
	for _, c := range counts {
		out = append(out, rules.AcronisPolicyCounts(c.summary, c.tenantUUID)...)
	}
	st.Tenants, st.Alerts, st.Tasks, st.Agents, st.Problems = len(ids), ev.alertCount, ev.taskCount, ev.agentCount, ev.problems
	st.OldestSuccess, st.NeverSucceeded = ev.oldest, ev.never
	st.Findings, st.Status = len(out), "ok"
	return out, st, nil
}

func agentRoots(root string, tenantIDs []string) []string {
	if len(tenantIDs) > 0 {
		return tenantIDs
	}
	return []string{root}
}

// tenants resolves the run's tenants: the given ones (checked to exist) or
// every customer under root.
func (a *AcronisSource) tenants(ctx context.Context, root string, tenantIDs []string) (map[string]string, []string, error) {
	names := map[string]string{} // uuid -> tenant name
	if len(tenantIDs) > 0 {
		for batch := range slices.Chunk(tenantIDs, acronis.MaxBatch) {
			for page, err := range a.Client.ListTenants(ctx, acronis.TenantFilter{UUIDs: batch, Lod: "basic"}) {
				if err != nil {
					return nil, nil, fmt.Errorf("acronis: tenants: %w", err)
				}
				for _, t := range page {
					names[t.ID] = t.Name
				}
			}
		}
		for _, id := range tenantIDs {
			if _, ok := names[id]; !ok {
				return nil, nil, fmt.Errorf("acronis: tenant %s: not found or not visible to the API client", id)
			}
		}
		return names, tenantIDs, nil
	}
	var ids []string
	for page, err := range a.Client.ListTenants(ctx, acronis.TenantFilter{SubtreeRootID: root, Lod: "basic"}) {
		if err != nil {
			return nil, nil, fmt.Errorf("acronis: tenant tree under %s: %w", root, err)
		}
		for _, t := range page {
			if t.Kind == acronis.KindCustomer {
				names[t.ID] = t.Name
				ids = append(ids, t.ID)
			}
		}
	}
	return names, ids, nil
}

// statuses reads every resource's policy statuses; where the platform
// answers in the v4 document's shape, counts per policy instead. Items carry
// the legacy numeric tenant id and the tenant's name: they are mapped back to
// the UUID through the names of the batch asked for, only where the name is
// unambiguous in that batch.
func (a *AcronisSource) statuses(ctx context.Context, names map[string]string, ids []string) ([]acronisResource, []policyCounts, Stats, error) {
	limit := a.PageLimit
	if limit <= 0 {
		limit = 500
	}
	var out []acronisResource
	var counts []policyCounts
	var st Stats
	for page, err := range a.Client.PolicyStatuses(ctx, ids, limit) {
		if err != nil {
			return nil, nil, Stats{}, fmt.Errorf("acronis: policy statuses: %w", err)
		}
		uuidOf := batchNames(page.Batch, names)
		for _, it := range page.Items {
			st.Resources++
			st.Policies += len(it.Policies)
			out = append(out, acronisResource{item: it, tenantUUID: uuidOf(it.Context.TenantName)})
		}
		for _, s := range page.ByPolicy {
			st.Policies++
			st.Resources += s.Contexts.Total
			counts = append(counts, policyCounts{summary: s, tenantUUID: uuidOf(s.Policy.TenantName)})
		}
	}
	return out, counts, st, nil
}

// batchNames maps a tenant name back to its UUID within one batch: the only
// tenant of a one-tenant batch, or a name no other tenant of the batch has.
func batchNames(batch []string, names map[string]string) func(name string) string {
	byName, dup := map[string]string{}, map[string]bool{}
	for _, id := range batch {
		n := names[id]
		if _, seen := byName[n]; seen {
			dup[n] = true
		}
		byName[n] = id
	}
	return func(name string) string {
		if len(batch) == 1 {
			return batch[0]
		}
		if dup[name] {
			return ""
		}
		return byName[name]
	}
}

// CBRSource collects CBR policies and organization policies.
type CBRSource struct {
	Client      *huaweicbr.Client
	Project     string // how the project appears in findings
	Concurrency int    // parallel detail requests (default 4)
}

// Collect lists policies and shows each, lists organization policies of both
// operation types and reads each one's delivery detail.
func (c *CBRSource) Collect(ctx context.Context, rules Rules) ([]Finding, Stats, error) {
	list, orgs, err := c.lists(ctx)
	if err != nil {
		return nil, Stats{}, err
	}
	var acc cbrFindings
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cmp.Or(max(c.Concurrency, 0), 4))
	for _, p := range list {
		g.Go(func() error {
			full, err := c.Client.ShowPolicy(gctx, p.ID)
			if err != nil {
				return fmt.Errorf("huaweicbr: show policy %s: %w", p.ID, err)
			}
			acc.add(rules.CBRPolicy(full, c.Project), 0, "")
			return nil
		})
	}
	for _, o := range orgs {
		g.Go(func() error { return c.delivery(gctx, rules, o, &acc) })
	}
	if err := g.Wait(); err != nil {
		return nil, Stats{}, err
	}
	slices.SortFunc(acc.out, func(a, b Finding) int { return cmp.Compare(a.Key, b.Key) })
	slices.Sort(acc.problems)
	return acc.out, Stats{Status: "ok", Policies: len(list), OrgPolicies: len(orgs), Members: acc.members, Findings: len(acc.out), Problems: acc.problems}, nil
}

// lists reads the policies and the organization policies of both
// operation types.
func (c *CBRSource) lists(ctx context.Context) ([]huaweicbr.Policy, []huaweicbr.OrganizationPolicy, error) {
	list, err := c.Client.ListPolicies(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("huaweicbr: list policies: %w", err)
	}
	var orgs []huaweicbr.OrganizationPolicy
	for _, op := range []string{"backup", "replication"} {
		o, err := c.Client.ListOrganizationPolicies(ctx, op)
		if err != nil {
			return nil, nil, fmt.Errorf("huaweicbr: list %s organization policies: %w", op, err)
		}
		orgs = append(orgs, o...)
	}
	return list, orgs, nil
}

// delivery judges an organization policy and its delivery to the members.
// Where CBR would not page through the members, those it answered are
// judged and the rest is a problem: the run did not see this provider whole.
func (c *CBRSource) delivery(ctx context.Context, rules Rules, o huaweicbr.OrganizationPolicy, acc *cbrFindings) error {
	members, err := c.Client.OrganizationPolicyDetail(ctx, o.ID)
	var f []Finding
	problem := ""
	if errors.Is(err, huaweicbr.ErrIncomplete) {
		problem = fmt.Sprintf("organization policy %s: %v", o.ID, err)
		f, err = append(f, incompleteDelivery(o, err)), nil
	}
	if err != nil {
		return fmt.Errorf("huaweicbr: organization policy %s delivery: %w", o.ID, err)
	}
	acc.add(append(f, rules.CBROrganizationPolicy(o, members)...), len(members), problem)
	return nil
}

// cbrFindings gathers what the parallel reads judge.
type cbrFindings struct {
	mu       sync.Mutex
	out      []Finding
	problems []string
	members  int
}

func (a *cbrFindings) add(f []Finding, members int, problem string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.out = append(a.out, f...)
	a.members += members
	if problem != "" {
		a.problems = append(a.problems, problem)
	}
}

// incompleteDelivery reports an organization policy whose delivery detail
// CBR would not page through (it ignores offset past its first page).
func incompleteDelivery(o huaweicbr.OrganizationPolicy, err error) Finding {
	return Finding{Provider: HuaweiCBR, Customer: "organization " + cmp.Or(o.DomainName, o.DomainID), Policy: o.Name, PolicyID: o.ID,
		Resource: o.OperationType + " organization policy", Rule: RuleDelivery, Severity: Unknown,
		Message: "delivery to some member accounts not checked: " + err.Error(),
		Key:     key(HuaweiCBR, "organization", o.ID, RuleDelivery, "incomplete")}
}
