package acronistest

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The alert, task and agent endpoints answer from data derived from the
// simulated machines (s.resources, see AddResources): a machine's first
// backup policy status decides its alerts, tasks and agent. Derived data stay
// stable between pages because every value is a hash of the machine's id and
// every time is measured back from one anchor fixed at the server's first
// such request.

// machine is one resource as these endpoints see it.
type machine struct {
	t          *tenant
	res        *resource
	status     string // first policy's status; "" without policies
	planID     string
	planName   string
	locator    string // "/legacy/ids/down/to/this/", as the alert document shows
	tenantPath []string
}

// Failing reports whether a status makes a machine's backups fail.
func failingStatus(s string) bool { return s == "error" || s == "critical" }

var anchors sync.Map // *Server -> time.Time

// anchor is the time all derived times are measured back from.
func (s *Server) anchor() time.Time {
	if v, ok := anchors.Load(s); ok {
		return v.(time.Time)
	}
	v, _ := anchors.LoadOrStore(s, s.cfg.Now().UTC().Truncate(time.Second))
	return v.(time.Time)
}

// h is a stable hash of a machine id and a salt: derived choices use it so
// the same machine gives the same answer on every page.
func h(id, salt string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(id))
	f.Write([]byte{0})
	f.Write([]byte(salt))
	return f.Sum64()
}

// derivedUUID is a stable UUID (version 4 layout) named by its parts.
func derivedUUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// machinesLocked lists the machines of the given tenants (nil = every tenant
// of the scope), in tree order then creation order.
func (s *Server) machinesLocked(scope string, only map[string]bool) []*machine {
	var out []*machine
	for _, tid := range s.subtreeLocked(scope) {
		if only != nil && !only[tid] {
			continue
		}
		t := s.tenants[tid]
		loc := s.locatorLocked(tid)
		for _, res := range s.resources[tid] {
			m := &machine{t: t, res: res, locator: loc}
			if len(res.Policies) > 0 {
				p := res.Policies[0]
				m.status, _ = p["status"].(string)
				m.planID, _ = p["id"].(string)
				if names, _ := p["names"].([]string); len(names) > 0 {
					m.planName = names[0]
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// locatorLocked is the tenant's "Ascending hierarchy of tenant IDs separated
// by '/'" (alert document), in legacy ids like its example "/1/50/53/56/".
func (s *Server) locatorLocked(tid string) string {
	var ids []string
	for t := s.tenants[tid]; t != nil; t = s.tenants[t.ParentID] {
		ids = append(ids, strconv.FormatInt(t.LegacyID, 10))
		if t.ParentID == "" {
			break
		}
	}
	slices.Reverse(ids)
	return "/" + strings.Join(ids, "/") + "/"
}

// tenantByAnyIDLocked finds a tenant by UUID or legacy numeric id: the alert
// and agent documents show legacy ids ("56", "62") where the rest of the
// platform uses UUIDs.
func (s *Server) tenantByAnyIDLocked(id string) *tenant {
	if t := s.tenants[id]; t != nil {
		return t
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for _, t := range s.tenants {
		if t.LegacyID == n {
			return t
		}
	}
	return nil
}

// Error texts of failed backups (alerts and tasks carry the same words).
var backupErrors = []struct{ code, text string }{
	{"StorageUnreachable", "Cannot connect to the backup location: the connection timed out"},
	{"NotEnoughSpace", "There is not enough space in the backup location"},
	{"SnapshotFailed", "Failed to create a volume snapshot (VSS error 0x8004230F)"},
	{"AgentOffline", "The agent did not respond in time"},
}

func backupError(id string) (code, text string) {
	e := backupErrors[h(id, "err")%uint64(len(backupErrors))]
	return e.code, e.text
}

// Bad cases the audit must report rather than stumble on.
func failingWithoutAlert(m *machine) bool { return h(m.res.ID, "noalert")%5 == 0 }
func tenantHasGhostAlert(t *tenant) bool  { return h(t.ID, "ghost")%3 == 0 }
func dismissedAlert(m *machine) bool      { return m.status == "ok" && h(m.res.ID, "dismissed")%6 == 0 }

// failingSince is when a failing machine's first failure after its last
// success completed.
func (s *Server) failingSince(m *machine) time.Time {
	return s.anchor().Add(-time.Duration(3+h(m.res.ID, "since")%96) * time.Hour)
}

func (s *Server) routesAlerts() {
	s.route("GET /api/alert_manager/v1/alerts", s.handleAlerts)
}

// writeAlertError is the alert document's Error: {domain, code} required.
func writeAlertError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, map[string]any{"domain": "AlertManager", "code": code, "reason": code, "context": map[string]any{"message": msg}})
}

// alertParams are the GET /alerts parameters the document lists, plus after:
// API-NOTES "Cursor paging (account, tasks, alerts, policy v4): limit +
// after" (the document itself lists no cursor parameter).
var alertParams = []string{"limit", "skip", "deleted_at", "id", "query", "severity", "show_deleted", "show_deleted_only",
	"source", "source_time_stamp", "type", "updated_at", "created_at", "category", "planId", "resourceId", "planName",
	"resourceName", "tenant", "order", "after"}

// alertFilterParams are those the simulator applies; the others are checked
// for their documented syntax and otherwise accepted without effect.
type alertFilter struct {
	tenants                  map[string]bool
	types, categories        []string
	showDeleted, deletedOnly bool
	updated                  func(int64) bool
	severity                 string
}

func (s *Server) handleAlerts(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	q := r.URL.Query()
	f, limit, offset, err := s.parseAlertQuery(q)
	if err != nil {
		writeAlertError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	s.mu.Lock()
	items := s.alertsLocked(auth.tenantID, f)
	s.mu.Unlock()
	end := min(offset+min(limit, s.cfg.PageCap), len(items))
	page := items[min(offset, len(items)):end]
	cursors := map[string]any{}
	if end < len(items) {
		cursors["after"] = encodeCursor(cursor{Filter: "alerts", Value: []string{alertFilterKey(q)}, Offset: end})
	}
	if page == nil {
		page = []map[string]any{} // "items" is not nullable in the document
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": page, "paging": map[string]any{"cursors": cursors}})
}

// alertFilterKey fingerprints every parameter but after: the cursor answers
// only the query that made it. A next page sent without the filters (the
// alert document does not say its cursor carries them) is refused.
func alertFilterKey(q url.Values) string {
	c := url.Values{}
	for k, v := range q {
		if k != "after" {
			c[k] = v
		}
	}
	sum := sha256.Sum256([]byte(c.Encode()))
	return fmt.Sprintf("%x", sum[:8])
}

func (s *Server) parseAlertQuery(q url.Values) (alertFilter, int, int, error) {
	for k := range q {
		if !slices.Contains(alertParams, k) {
			return alertFilter{}, 0, 0, fmt.Errorf("%s: unknown parameter", k)
		}
	}
	limit, err := ParseLimit(q.Get("limit"), 100)
	if err != nil {
		return alertFilter{}, 0, 0, err
	}
	offset := 0
	if after := q.Get("after"); after != "" {
		c, err := decodeCursor(after)
		if err != nil || c.Filter != "alerts" || len(c.Value) != 1 || c.Value[0] != alertFilterKey(q) {
			return alertFilter{}, 0, 0, fmt.Errorf("after: invalid cursor or filters changed since the first page")
		}
		offset = c.Offset
	}
	f, err := parseAlertFilter(q)
	return f, limit, offset, err
}

func parseAlertFilter(q url.Values) (alertFilter, error) {
	f := alertFilter{types: q["type"], categories: q["category"], severity: q.Get("severity")}
	if len(q["tenant"]) > 0 {
		if len(q["tenant"]) > 100 {
			// API-NOTES: "Batch filters (uuids=, tenants=, or(...)): at most 100 ids per call."
			return f, fmt.Errorf("tenant: at most 100 ids per call, got %d", len(q["tenant"]))
		}
		f.tenants = map[string]bool{}
		for _, id := range q["tenant"] {
			f.tenants[id] = true
		}
	}
	if q.Has("severity") && !slices.Contains([]string{"ok", "information", "warning", "error", "critical"}, f.severity) {
		return f, fmt.Errorf("severity: %q is not one of ok, information, warning, error, critical", f.severity)
	}
	for _, p := range []struct {
		name string
		dst  *bool
	}{{"show_deleted", &f.showDeleted}, {"show_deleted_only", &f.deletedOnly}} {
		if v := q.Get(p.name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return f, fmt.Errorf("%s: %q is not a boolean", p.name, v)
			}
			*p.dst = b
		}
	}
	for _, name := range []string{"deleted_at", "source_time_stamp", "created_at", "updated_at"} {
		if v := q.Get(name); v != "" {
			cmpFn, err := parseNanoFilter(v)
			if err != nil {
				return f, fmt.Errorf("%s: %w", name, err)
			}
			if name == "updated_at" {
				f.updated = cmpFn
			}
		}
	}
	if o := q.Get("order"); o != "" && !validAlertOrder(o) {
		return f, fmt.Errorf("order: %q is not asc(field) or desc(field) of a documented field", o)
	}
	return f, nil
}

// parseNanoFilter reads "Must be a Unix timestamp in nanoseconds" with the
// documented operators eq, lt, gt, le, ge (a bare number means eq).
func parseNanoFilter(v string) (func(int64) bool, error) {
	op, arg := "eq", v
	if i := strings.IndexByte(v, '('); i > 0 && strings.HasSuffix(v, ")") {
		op, arg = v[:i], v[i+1:len(v)-1]
	}
	n, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%q is not a Unix timestamp in nanoseconds", v)
	}
	switch op {
	case "eq":
		return func(x int64) bool { return x == n }, nil
	case "lt":
		return func(x int64) bool { return x < n }, nil
	case "gt":
		return func(x int64) bool { return x > n }, nil
	case "le":
		return func(x int64) bool { return x <= n }, nil
	case "ge":
		return func(x int64) bool { return x >= n }, nil
	}
	return nil, fmt.Errorf("operator %q is not one of eq, lt, gt, le, ge", op)
}

var alertOrderFields = []string{"created_at", "type", "severity", "source", "source_time_stamp", "updated_at",
	"deleted_at", "category", "planId", "planName", "resourceId", "resourceName"}

func validAlertOrder(o string) bool {
	if i := strings.IndexByte(o, '('); i > 0 && strings.HasSuffix(o, ")") {
		if op := o[:i]; op != "asc" && op != "desc" {
			return false
		}
		o = o[i+1 : len(o)-1]
	}
	return slices.Contains(alertOrderFields, o)
}

// simAlert is a derived alert before it is written as an AlertView.
type simAlert struct {
	view    map[string]any
	created time.Time
	updated time.Time
	deleted bool
	id      string
}

func (s *Server) alertsLocked(scope string, f alertFilter) []map[string]any {
	var only map[string]bool
	if f.tenants != nil {
		only = map[string]bool{}
		for id := range f.tenants {
			if t := s.tenantByAnyIDLocked(id); t != nil {
				only[t.ID] = true
			}
		}
	}
	var all []simAlert
	seen := map[string]bool{}
	for _, m := range s.machinesLocked(scope, only) {
		if a, ok := s.machineAlert(m); ok {
			all = append(all, a)
		}
		if !seen[m.t.ID] {
			seen[m.t.ID] = true
			if tenantHasGhostAlert(m.t) {
				all = append(all, s.ghostAlert(m))
			}
		}
	}
	var out []map[string]any
	slices.SortStableFunc(all, func(a, b simAlert) int {
		return cmp.Or(a.created.Compare(b.created), strings.Compare(a.id, b.id))
	})
	for _, a := range all {
		if f.keep(a) {
			out = append(out, a.view)
		}
	}
	return out
}

func (f alertFilter) keep(a simAlert) bool {
	switch {
	case f.deletedOnly && !a.deleted, !f.deletedOnly && !f.showDeleted && a.deleted:
		return false
	case len(f.types) > 0 && !slices.Contains(f.types, a.view["type"].(string)),
		len(f.categories) > 0 && !slices.Contains(f.categories, a.view["category"].(string)),
		f.severity != "" && a.view["severity"] != f.severity,
		f.updated != nil && !f.updated(a.updated.UnixNano()):
		return false
	}
	return true
}

// machineAlert is a failing machine's BackupFailed alert (unless it is one of
// the failing machines left without an alert), or a dismissed one for some
// healthy machines.
func (s *Server) machineAlert(m *machine) (simAlert, bool) {
	deleted := dismissedAlert(m)
	if !(failingStatus(m.status) && !failingWithoutAlert(m)) && !deleted {
		return simAlert{}, false
	}
	created := s.failingSince(m)
	sev := "error"
	if m.status == "critical" {
		sev = "critical"
	}
	if deleted {
		created, sev = s.anchor().Add(-time.Duration(48+h(m.res.ID, "old")%200)*time.Hour), "error"
	}
	_, text := backupError(m.res.ID)
	details := map[string]any{"resourceId": m.res.ID, "resourceName": m.res.Name, "planId": m.planID, "planName": m.planName,
		"activityId": derivedUUID(m.res.ID, "activity"), "errorMessage": map[string]any{"reason": text}}
	a := s.alertView(m, derivedUUID(m.res.ID, "alert"), sev, created, details)
	if deleted {
		d := created.Add(3 * time.Hour)
		a.view["deletedAt"], a.view["updatedAt"], a.updated, a.deleted = alertTime(d, 0), alertTime(d, 0), d, true
	}
	return a, true
}

// ghostAlert is an alert for a machine that no longer exists in the tenant.
func (s *Server) ghostAlert(m *machine) simAlert {
	gone := derivedUUID(m.t.ID, "removed machine")
	details := map[string]any{"resourceId": gone, "resourceName": "HOST-REMOVED-" + gone[:4], "planId": derivedUUID(m.t.ID, "plan"),
		"planName": "Protection plan 1", "errorMessage": map[string]any{"reason": "The machine is not available"}}
	return s.alertView(m, derivedUUID(m.t.ID, "ghost alert"), "critical", s.anchor().Add(-30*24*time.Hour), details)
}

func (s *Server) alertView(m *machine, id, sev string, created time.Time, details map[string]any) simAlert {
	received := created.Add(time.Duration(h(id, "rcv")%900) * time.Millisecond)
	v := map[string]any{
		"id": id, "type": "BackupFailed", "severity": sev, "category": "Backup", "details": details,
		"createdAt": alertTime(created, h(id, "c")), "receivedAt": alertTime(received, h(id, "r")),
		"updatedAt": alertTime(received, h(id, "u")), "affinity": m.res.AgentID,
		"_source": derivedUUID(m.res.AgentID, "source"), "_sourceTimeStamp": created.Unix(),
		"tenant": map[string]any{"id": strconv.FormatInt(m.t.LegacyID, 10), "locator": m.locator},
	}
	return simAlert{view: v, created: created, updated: received, id: id}
}

// alertTime writes a time the way the AlertView pattern allows: always with
// a zone (Z or ±hh:mm), with or without fractions (its examples show both).
func alertTime(t time.Time, pick uint64) string {
	switch pick % 3 {
	case 0:
		return t.UTC().Format(time.RFC3339)
	case 1:
		return t.UTC().Format(time.RFC3339Nano)
	}
	return t.In(time.FixedZone("", 3*3600)).Format("2006-01-02T15:04:05.000000-07:00")
}
