package acronistest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Usage endpoints: GET /api/2/tenants/usages?tenants=a,b (batch, at most 100)
// and GET /api/2/tenants/{id}/usages. Items are derived from the tenant's id
// and legacy id alone, so two runs over the same tree see the same usage and
// tests can ask for the expected answer (TenantUsage).

func (s *Server) routesUsage() {
	s.route("GET /api/2/tenants/usages", s.handleUsagesBatch)
	s.route("GET /api/2/tenants/{id}/usages", s.handleTenantUsages)
}

// usageQuirks holds per-server switches without a field in Server (the
// simulator core is shared; usage keeps its state here).
var usageQuirks sync.Map // *Server -> bool

// SetUsageQuirks makes usage answers look like what integrations have seen
// in the field rather than what the spec promises: fractional values and the
// legacy tenant_id as a string. Off by default (answers then pass the spec).
func (s *Server) SetUsageQuirks(on bool) { usageQuirks.Store(s, on) }

func (s *Server) quirks() bool {
	v, _ := usageQuirks.Load(s)
	on, _ := v.(bool)
	return on
}

// Application ids of the simulated services (fixed, like the platform's).
const (
	usageAppBackup = "6e6d758d-8e74-3ae3-ac84-50eb0dff12eb"
	usageAppFiles  = "f9c5744e-bdc8-3cbd-a8d2-e3c7b2e1f8a4"
)

// TenantUsage is what the single-tenant endpoint answers for id (JSON-ready
// items), or nil when the tenant does not exist. Tests compare snapshots with it.
func (s *Server) TenantUsage(id string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[id]
	if t == nil || t.DeletedAt != nil {
		return nil
	}
	return s.usageLocked(t)
}

func (s *Server) usageLocked(t *tenant) []map[string]any {
	h := fnv.New64a()
	h.Write([]byte(t.ID))
	x := h.Sum64()
	now := s.cfg.Now().UTC()
	rangeStart := fmt.Sprintf("%04d-%02d-01T00:00:00", now.Year(), now.Month())
	quirks := s.quirks()
	var legacy any = t.LegacyID
	if quirks {
		legacy = strconv.FormatInt(t.LegacyID, 10)
	}
	// Storage in bytes beyond 2^53 for some tenants: a float64 would round it.
	storage := int64(x%(1<<40)) + t.LegacyID
	if x%5 == 0 {
		storage += 1 << 53
	}
	vms := int64(x>>8) % 40
	workstations := int64(x>>16) % 250
	item := func(name, usageName, edition, typ, unit string, value any, quota []any) map[string]any {
		m := map[string]any{
			"application_id": usageAppBackup, "name": name, "usage_name": usageName, "edition": edition,
			"type": typ, "measurement_unit": unit, "range_start": rangeStart,
			"value": value, "absolute_value": value, "tenant_uuid": t.ID, "tenant_id": legacy,
		}
		if edition == "" {
			m["edition"] = nil
		}
		if quota != nil {
			m["offering_item"] = map[string]any{"status": 1, "quota": map[string]any{"value": quota[0], "overage": quota[1], "version": quota[2]}}
		}
		return m
	}
	items := []map[string]any{
		item("pw_base_storage", "storage", "pck_per_workload", "infra", "bytes", json.Number(strconv.FormatInt(storage, 10)), []any{nil, nil, 0}),
		item("pw_vms", "vms", "pck_per_workload", "count", "quantity", vms, []any{50, 5, 1700000000000 + t.LegacyID}),
		item("pw_workstations", "workstations", "pck_per_workload", "count", "quantity", workstations, []any{300, 0, 1700000000000 + t.LegacyID}),
	}
	if x%3 == 0 {
		fs := item("fc_storage", "fc_storage", "", "infra", "bytes", int64(x>>24)%(1<<30), nil)
		fs["application_id"] = usageAppFiles
		fs["infra_id"] = newUUIDFrom(&fnvSeq{x: x})
		items = append(items, fs)
	}
	if quirks {
		// Field reports: some services send fractional values (GB with decimals).
		gb := fmt.Sprintf("%d.%03d", storage>>30, x%1000)
		items = append(items, item("pg_storage_gb", "storage_gb", "pck_per_gigabyte", "infra", "n/a", json.Number(gb), nil))
	}
	return items
}

// fnvSeq is a deterministic uint32 source for ids derived from a hash.
type fnvSeq struct{ x uint64 }

func (f *fnvSeq) Uint32() uint32 {
	f.x = f.x*6364136223846793005 + 1442695040888963407
	return uint32(f.x >> 32)
}

func (s *Server) handleUsagesBatch(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	q := r.URL.Query()
	raw := q.Get("tenants")
	if raw == "" {
		WriteError(w, http.StatusBadRequest, "BadRequest", "tenants is required", "")
		return
	}
	ids := strings.Split(raw, ",")
	if len(ids) > 100 {
		WriteError(w, http.StatusBadRequest, "BadRequest", "tenants: maximum of 100 UUIDs", "")
		return
	}
	for _, id := range ids {
		if !isUUID(id) {
			WriteError(w, http.StatusBadRequest, "BadRequest", "tenants: not a UUID: "+truncateID(id), "")
			return
		}
	}
	s.mu.Lock()
	items := make([]any, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		// Unknown, deleted and foreign tenants are left out, as the platform does.
		if seen[id] || !s.inSubtreeLocked(id, auth.tenantID) {
			continue
		}
		seen[id] = true
		items = append(items, map[string]any{"tenant": id, "usages": s.usageLocked(s.tenants[id])})
	}
	s.mu.Unlock()
	WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) handleTenantUsages(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	s.mu.Lock()
	t, ok := s.lookup(w, r, auth)
	var items []map[string]any
	if ok {
		items = s.usageLocked(t)
	}
	s.mu.Unlock()
	if ok {
		WriteJSON(w, http.StatusOK, map[string]any{"items": items})
	}
}

func truncateID(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
