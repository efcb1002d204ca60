package acronistest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
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
// items, numbers as json.Number), or nil when the tenant does not exist.
// Tests compare snapshots with it.
func (s *Server) TenantUsage(id string) []map[string]any {
	s.mu.Lock()
	t := s.tenants[id]
	if t == nil || t.DeletedAt != nil {
		s.mu.Unlock()
		return nil
	}
	items := s.usageLocked(t)
	s.mu.Unlock()
	b, _ := json.Marshal(items)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []map[string]any
	_ = dec.Decode(&out)
	return out
}

// usageItem is the spec's usageOutput (structs: the batch endpoint encodes
// hundreds of them per call, and maps would sort their keys every time).
type usageItem struct {
	ApplicationID   string         `json:"application_id"`
	Name            string         `json:"name"`
	Edition         *string        `json:"edition"`
	UsageName       string         `json:"usage_name"`
	Type            string         `json:"type"`
	MeasurementUnit string         `json:"measurement_unit"`
	InfraID         string         `json:"infra_id,omitempty"`
	TenantUUID      string         `json:"tenant_uuid"`
	TenantID        any            `json:"tenant_id"`
	RangeStart      string         `json:"range_start"`
	AbsoluteValue   json.Number    `json:"absolute_value"`
	Value           json.Number    `json:"value"`
	OfferingItem    *usageOffering `json:"offering_item,omitempty"`
}

type usageOffering struct {
	Status int        `json:"status"`
	Quota  usageQuota `json:"quota"`
}

type usageQuota struct {
	Value   *int64 `json:"value"`
	Overage *int64 `json:"overage"`
	Version int64  `json:"version"`
}

func (s *Server) usageLocked(t *tenant) []usageItem {
	// Keyed by the legacy id, which follows creation order: a tenant gets
	// the same usage however many random draws (faults, tokens) came
	// before it was created, so runs with and without faults compare.
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(t.LegacyID, 10)))
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
	num := func(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }
	ptr := func(n int64) *int64 { return &n }
	edition := "pck_per_workload"
	item := func(name, usageName string, edition *string, typ, unit string, value json.Number, quota *usageQuota) usageItem {
		u := usageItem{
			ApplicationID: usageAppBackup, Name: name, UsageName: usageName, Edition: edition,
			Type: typ, MeasurementUnit: unit, RangeStart: rangeStart,
			Value: value, AbsoluteValue: value, TenantUUID: t.ID, TenantID: legacy,
		}
		if quota != nil {
			u.OfferingItem = &usageOffering{Status: 1, Quota: *quota}
		}
		return u
	}
	quota := &usageQuota{Value: ptr(50), Overage: ptr(5), Version: 1700000000000 + t.LegacyID}
	items := []usageItem{
		item("pw_base_storage", "storage", &edition, "infra", "bytes", num(storage), &usageQuota{}),
		item("pw_vms", "vms", &edition, "count", "quantity", num(vms), quota),
		item("pw_workstations", "workstations", &edition, "count", "quantity", num(workstations),
			&usageQuota{Value: ptr(300), Overage: ptr(0), Version: 1700000000000 + t.LegacyID}),
	}
	if x%3 == 0 {
		fs := item("fc_storage", "fc_storage", nil, "infra", "bytes", num(int64(x>>24)%(1<<30)), nil)
		fs.ApplicationID = usageAppFiles
		fs.InfraID = newUUIDFrom(&fnvSeq{x: x})
		items = append(items, fs)
	}
	if quirks {
		// Field reports: some services send fractional values (GB with decimals).
		gb := json.Number(fmt.Sprintf("%d.%03d", storage>>30, x%1000))
		gbEdition := "pck_per_gigabyte"
		items = append(items, item("pg_storage_gb", "storage_gb", &gbEdition, "infra", "n/a", gb, nil))
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
			WriteError(w, http.StatusBadRequest, "BadRequest", "tenants: not a UUID: "+inputcheck.Truncate(id, 40), "")
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
	var items []usageItem
	if ok {
		items = s.usageLocked(t)
	}
	s.mu.Unlock()
	if ok {
		WriteJSON(w, http.StatusOK, map[string]any{"items": items})
	}
}
