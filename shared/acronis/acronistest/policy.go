package acronistest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// resource is a protected (or not) machine with its policies' statuses.
type resource struct {
	ID, AgentID, Name, TenantID string
	Policies                    []map[string]any
}

// ResourceMix is how AddResources spreads statuses (weights, any scale).
// Unknown statuses ("paused", "exotic_state") are there to be reported as such.
var ResourceMix = []struct {
	Status string
	Weight int
}{
	{"ok", 60}, {"warning", 10}, {"error", 6}, {"critical", 3}, {"not_protected", 6},
	{"running", 5}, {"overdue", 6}, {"no_policies", 2}, {"exotic_state", 2},
}

// AddResources gives a tenant n machines with deterministic policy statuses
// drawn from ResourceMix, and returns their ids.
func (s *Server) AddResources(tenantID string, n int, seed int64) []string {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(len(tenantID))))
	total := 0
	for _, m := range ResourceMix {
		total += m.Weight
	}
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resources == nil {
		s.resources = map[string][]*resource{}
	}
	var ids []string
	for i := range n {
		pick := r.IntN(total)
		status := ""
		for _, m := range ResourceMix {
			if pick < m.Weight {
				status = m.Status
				break
			}
			pick -= m.Weight
		}
		res := &resource{ID: newUUID(s.rng), AgentID: newUUID(s.rng), TenantID: tenantID, Name: fmt.Sprintf("HOST-%s-%04d", tenantID[:4], i)}
		next := now.Add(time.Duration(1+r.IntN(20)) * time.Hour)
		state := "idle"
		switch status {
		case "running":
			status, state = "ok", "running"
		case "overdue":
			status = "ok"
			next = now.Add(-time.Duration(2+r.IntN(70)) * time.Hour)
		case "no_policies":
			s.resources[tenantID] = append(s.resources[tenantID], res)
			ids = append(ids, res.ID)
			continue
		}
		res.Policies = append(res.Policies, map[string]any{
			"id": newUUID(s.rng), "names": []string{"Protection plan " + fmt.Sprint(1+i%3)}, "type": "policy.backup.machine",
			"status": status, "running": map[string]any{"state": state},
			// Times come with and without zone and with fractions, as on the real API.
			"next_run_time": []string{next.Format(time.RFC3339), next.Format("2006-01-02T15:04:05"), next.Format("2006-01-02T15:04:05.000000Z07:00")}[i%3],
		})
		if i%4 == 0 {
			res.Policies = append(res.Policies, map[string]any{"id": newUUID(s.rng), "names": []string{}, "type": "policy.security.patch_management",
				"status": "ok", "running": map[string]any{"state": "idle"}, "next_run_time": now.Add(6 * time.Hour).Format(time.RFC3339)})
		}
		s.resources[tenantID] = append(s.resources[tenantID], res)
		ids = append(ids, res.ID)
	}
	return ids
}

// Policy-status answer shapes (Config.PolicyStatusShape).
const (
	PolicyShapeSeed     = "seed"
	PolicyShapeDocument = "document"
)

const policyStatusesPath = "/api/policy_management/v4/policy_statuses"

func (s *Server) routesPolicy() {
	s.route("GET "+policyStatusesPath, s.handlePolicyStatuses)
}

// writeV4Error is the resource-policy document's error shape: flat
// {code, domain, message}, e.g. BadRequestError {code: "BadRequestError", domain: "General"}.
func writeV4Error(w http.ResponseWriter, status int, code, domain, msg string) {
	WriteJSON(w, status, map[string]any{"code": code, "domain": domain, "message": msg})
}

func badV4Request(w http.ResponseWriter, msg string) {
	writeV4Error(w, http.StatusBadRequest, "BadRequestError", "General", msg)
}

// parseTenantFilter reads tenant_id as a UUID, or(a,b,...) or not(a,b,...).
func parseTenantFilter(v string) (ids []string, negate bool, err error) {
	switch {
	case strings.HasPrefix(v, "or(") && strings.HasSuffix(v, ")"):
		v = v[3 : len(v)-1]
	case strings.HasPrefix(v, "not(") && strings.HasSuffix(v, ")"):
		v, negate = v[4:len(v)-1], true
	}
	ids = strings.Split(v, ",")
	// "Filter by one or more tenant IDs or UUIDs. Maximum 100 items."
	if len(ids) > 100 {
		return nil, false, fmt.Errorf("tenant_id: maximum 100 items")
	}
	for _, id := range ids {
		if !isUUID(id) {
			return nil, false, fmt.Errorf("tenant_id: %q is not a UUID", id)
		}
	}
	return ids, negate, nil
}

// policyQuery reads a policy-status request. The v4 document does not say
// its cursor carries the filters (the account-management one does), so the
// filters are read from the query of every page, the cursor giving only the
// position: a client that drops tenant_id on page 2 gets every tenant's
// statuses from there on, not its batch's.
func policyQuery(q url.Values) (cursor, int, error) {
	limit, err := ParseLimit(q.Get("limit"), 100)
	if err != nil {
		return cursor{}, 0, fmt.Errorf("limit: %w", err)
	}
	c := cursor{Filter: "policy"}
	if v := q.Get("tenant_id"); v != "" {
		c.Value = []string{v}
	}
	if after := q.Get("after"); after != "" {
		prev, err := decodeCursor(after)
		if err != nil || prev.Filter != "policy" {
			return cursor{}, 0, fmt.Errorf("after: invalid cursor")
		}
		c.Offset = prev.Offset
	}
	return c, limit, nil
}

func (s *Server) handlePolicyStatuses(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	c, limit, err := policyQuery(r.URL.Query())
	if err != nil {
		badV4Request(w, err.Error())
		return
	}
	var tenantSet map[string]bool
	negate := false
	if len(c.Value) == 1 {
		ids, neg, err := parseTenantFilter(c.Value[0])
		if err != nil {
			badV4Request(w, err.Error())
			return
		}
		tenantSet, negate = map[string]bool{}, neg
		for _, id := range ids {
			tenantSet[id] = true
		}
	}
	keep := func(tid string) bool { return tenantSet == nil || tenantSet[tid] != negate }
	s.mu.Lock()
	var all []any
	if s.cfg.PolicyStatusShape == PolicyShapeDocument {
		all = s.statusesByPolicyLocked(auth.tenantID, keep)
	} else {
		all = s.statusesByResourceLocked(auth.tenantID, keep)
	}
	s.mu.Unlock()
	n := min(limit, s.cfg.PageCap)
	end := min(c.Offset+n, len(all))
	page := all[min(c.Offset, len(all)):end]
	cursors := map[string]any{"total": len(all)}
	if end < len(all) {
		next := c
		next.Offset = end
		cursors["after"] = encodeCursor(next)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": page, "paging": map[string]any{"cursors": cursors}, "timestamp": s.cfg.Now().UTC().Format(time.RFC3339)})
}

// statusesByResourceLocked is seed 000's answer: one item per resource,
// {context{...}, policies[...]}.
func (s *Server) statusesByResourceLocked(scope string, keep func(string) bool) []any {
	all := []any{} // an empty answer is "items": [], not null
	for _, tid := range s.subtreeLocked(scope) {
		if !keep(tid) {
			continue
		}
		t := s.tenants[tid]
		for _, res := range s.resources[tid] {
			pols := res.Policies
			if pols == nil {
				pols = []map[string]any{}
			}
			all = append(all, map[string]any{
				"context": map[string]any{"agent_id": res.AgentID, "agent_name": res.Name, "id": res.ID, "name": res.Name,
					"tenant_id": fmt.Sprint(t.LegacyID), "tenant_name": t.Name, "type": "resource.machine", "user_defined_name": res.Name},
				"policies": pols,
			})
		}
	}
	return all
}

// executionStatus maps a resource's status onto the v4 document's
// ExecutionStatus enum (warning, error, critical, no_policies_applied,
// scheduled, interaction_required, running, cancelling, idle). The enum has
// no "ok": an ok policy that is not running is "idle". Statuses the enum
// cannot express are counted in the total only.
func executionStatus(p map[string]any) (string, bool) {
	st, _ := p["status"].(string)
	if run, _ := p["running"].(map[string]any); run["state"] == "running" {
		return "running", true
	}
	switch st {
	case "warning", "error", "critical":
		return st, true
	case "ok":
		return "idle", true
	}
	return "", false
}

// policyGroup counts the resources of one policy (a tenant's plan).
type policyGroup struct {
	id, name, typ, tenantID, tenantName string
	total                               int
	byStatus                            map[string]int
}

// statusesByPolicyLocked is the v4 document's answer: "a list of
// applications grouped by provided policy", each item a CompositePolicyStatus
// (an array of PolicyStatus {policy, contexts{number_of_resources_by_status}}).
func (s *Server) statusesByPolicyLocked(scope string, keep func(string) bool) []any {
	var order []string
	groups := map[string]*policyGroup{}
	for _, tid := range s.subtreeLocked(scope) {
		if !keep(tid) {
			continue
		}
		t := s.tenants[tid]
		for _, res := range s.resources[tid] {
			for _, p := range res.Policies {
				names, _ := p["names"].([]string)
				typ, _ := p["type"].(string)
				name := strings.Join(names, ", ")
				key := tid + "\x00" + typ + "\x00" + name
				g := groups[key]
				if g == nil {
					id, _ := p["id"].(string)
					g = &policyGroup{id: id, name: name, typ: typ, tenantID: fmt.Sprint(t.LegacyID), tenantName: t.Name, byStatus: map[string]int{}}
					groups[key] = g
					order = append(order, key)
				}
				g.total++
				if st, ok := executionStatus(p); ok {
					g.byStatus[st]++
				}
			}
		}
	}
	out := make([]any, 0, len(order))
	for _, k := range order {
		out = append(out, []any{groups[k].json(stamp(s.cfg.Now()))})
	}
	return out
}

func (g *policyGroup) json(at string) map[string]any {
	counts := []map[string]any{}
	for _, st := range []string{"critical", "error", "warning", "running", "idle"} {
		if n := g.byStatus[st]; n > 0 {
			counts = append(counts, map[string]any{"status": st, "value": n})
		}
	}
	return map[string]any{
		"policy": map[string]any{"created_at": at, "updated_at": at, "id": g.id, "tenant_id": g.tenantID, "tenant_name": g.tenantName,
			"type": g.typ, "enabled": true, "name": g.name, "origin": "local"},
		"contexts": map[string]any{"total_number_or_resources": g.total, "number_of_enabled_resource_applications": g.total,
			"number_of_resources_by_status": counts, "number_of_multiple_applications_conflict_resources": 0,
			"origin_contexts": []string{}, "deployment_status": map[string]any{"state": "deployed"}},
	}
}
