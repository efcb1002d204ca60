package acronistest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
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

func (s *Server) routesPolicy() {
	s.route("GET /api/policy_management/v4/policy_statuses", s.handlePolicyStatuses)
}

// writeV4Error is the policy-management error shape: flat {code, domain, message}.
func writeV4Error(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, map[string]any{"code": code, "domain": "PolicyManagement", "message": msg})
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

func (s *Server) handlePolicyStatuses(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	q := r.URL.Query()
	limit, err := ParseLimit(q.Get("limit"), 100)
	if err != nil {
		writeV4Error(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	var c cursor
	if after := q.Get("after"); after != "" {
		if c, err = decodeCursor(after); err != nil || c.Filter != "policy" {
			writeV4Error(w, http.StatusBadRequest, "BadRequest", "invalid cursor")
			return
		}
	} else {
		c = cursor{Filter: "policy"}
		if v := q.Get("tenant_id"); v != "" {
			c.Value = []string{v}
		}
	}
	var tenantSet map[string]bool
	negate := false
	if len(c.Value) == 1 {
		ids, neg, err := parseTenantFilter(c.Value[0])
		if err != nil {
			writeV4Error(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		tenantSet, negate = map[string]bool{}, neg
		for _, id := range ids {
			tenantSet[id] = true
		}
	}
	s.mu.Lock()
	var all []map[string]any
	for _, tid := range s.subtreeLocked(auth.tenantID) {
		if tenantSet != nil && tenantSet[tid] == negate {
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
