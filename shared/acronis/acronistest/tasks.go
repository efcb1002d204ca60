package acronistest

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routesTasks() {
	s.route("GET /api/task_manager/v2/tasks", s.handleTasks)
}

// writeTaskError is the task document's domainError: {domain, code} required.
func writeTaskError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, map[string]any{"domain": "TaskManager", "code": code, "reason": code, "debug": map[string]any{"msg": msg}})
}

// taskParams are the GET /tasks query parameters of the task document.
var taskParams = []string{"lod", "limit", "after", "order", "executorId", "id", "uuid", "type", "queue", "priority", "startedBy",
	"policyId", "policyName", "policyType", "resourceId", "resourceName", "resourceType", "workflowId", "state", "resultCode",
	"enqueuedAt", "assignedAt", "startedAt", "updatedAt", "completedAt", "tag", "affinityAgentId", "affinityClusterId", "allow_deleted"}

var taskTimeFields = []string{"enqueuedAt", "assignedAt", "startedAt", "updatedAt", "completedAt"}

// taskQuery is a parsed GET /tasks query; it travels in the cursor, since the
// document lets later pages send only limit and after.
type taskQuery struct {
	lod   string
	multi map[string][]string // resourceId, policyId, policyType, type, state, resultCode, uuid, id
	times map[string]string   // field -> op(time)
	order string
}

func (s *Server) handleTasks(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	q := r.URL.Query()
	tq, limit, offset, err := parseTaskRequest(q)
	if err != nil {
		writeTaskError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	s.mu.Lock()
	items, err := s.tasksLocked(auth.tenantID, tq)
	s.mu.Unlock()
	if err != nil {
		writeTaskError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	end := min(offset+min(limit, s.cfg.PageCap), len(items))
	page := make([]map[string]any, 0, end-min(offset, end))
	for _, t := range items[min(offset, end):end] {
		page = append(page, t.render(tq.lod))
	}
	// The document's answer: {"items", "cursors":{"after","before"}} at the
	// top level (not under paging).
	cursors := map[string]any{}
	if end < len(items) {
		cursors["after"] = encodeCursor(cursor{Filter: "tasks", Value: []string{tq.encode()}, Offset: end})
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": page, "cursors": cursors})
}

// parseTaskRequest reads a first page's filters, or a next page's cursor.
// The document: after "Can be used only with the `limit` query string
// parameter"; a next page carrying filters is refused.
func parseTaskRequest(q url.Values) (taskQuery, int, int, error) {
	for k := range q {
		if !slices.Contains(taskParams, k) {
			return taskQuery{}, 0, 0, fmt.Errorf("%s: unknown parameter", k)
		}
	}
	limit, err := ParseLimit(q.Get("limit"), 200)
	if err != nil {
		return taskQuery{}, 0, 0, err
	}
	after := q.Get("after")
	if after == "" {
		tq, err := parseTaskQuery(q)
		return tq, limit, 0, err
	}
	for k := range q {
		if k != "after" && k != "limit" {
			return taskQuery{}, 0, 0, fmt.Errorf("after: can be used only with the limit query string parameter, not with %s", k)
		}
	}
	c, err := decodeCursor(after)
	if err != nil || c.Filter != "tasks" || len(c.Value) != 1 {
		return taskQuery{}, 0, 0, fmt.Errorf("after: invalid cursor")
	}
	vals, err := url.ParseQuery(c.Value[0])
	if err != nil {
		return taskQuery{}, 0, 0, fmt.Errorf("after: invalid cursor")
	}
	tq, err := parseTaskQuery(vals)
	return tq, limit, c.Offset, err
}

func parseTaskQuery(q url.Values) (taskQuery, error) {
	tq := taskQuery{lod: q.Get("lod"), multi: map[string][]string{}, times: map[string]string{}, order: q.Get("order")}
	if tq.lod != "" && !slices.Contains([]string{"tiny", "short", "long", "full", "debug", "count"}, tq.lod) {
		return tq, fmt.Errorf("lod: %q is not one of tiny, short, long, full, debug, count", tq.lod)
	}
	enums := map[string][]string{
		"state":      {"enqueued", "assigned", "started", "paused", "completed"},
		"resultCode": {"ok", "error", "warning", "cancelled", "abandoned", "timedout"},
		"priority":   {"low", "belowNormal", "normal", "aboveNormal", "high"},
	}
	for _, k := range []string{"resourceId", "policyId", "policyType", "type", "state", "resultCode", "uuid", "id", "priority"} {
		vals := q[k]
		if len(vals) > 100 {
			// API-NOTES: "Batch filters ...: at most 100 ids per call."
			return tq, fmt.Errorf("%s: at most 100 entries per call, got %d", k, len(vals))
		}
		for _, v := range vals {
			if err := checkTaskValue(k, v, enums[k]); err != nil {
				return tq, err
			}
		}
		if len(vals) > 0 {
			tq.multi[k] = vals
		}
	}
	for _, k := range taskTimeFields {
		if len(q[k]) > 1 {
			return tq, fmt.Errorf("%s: a time filter takes a single entry", k) // "Single entry is accepted."
		}
		if v := q.Get(k); v != "" {
			if _, _, err := parseTimeFilter(v); err != nil {
				return tq, fmt.Errorf("%s: %w", k, err)
			}
			tq.times[k] = v
		}
	}
	if tq.order != "" && !validTaskOrder(tq.order) {
		return tq, fmt.Errorf("order: %q is not asc(field) or desc(field) of a documented field", tq.order)
	}
	return tq, nil
}

func checkTaskValue(k, v string, enum []string) error {
	switch {
	case enum != nil && !slices.Contains(enum, v):
		return fmt.Errorf("%s: %q is not one of %v", k, v, enum)
	case k == "id":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("id: %q is not an integer", v)
		}
	case k == "uuid" && !isUUID(strings.ToLower(v)):
		return fmt.Errorf("uuid: %q is not a UUID", v)
	}
	return nil
}

// parseTimeFilter reads op(time) with op one of eq, gt, ge, lt, le, or a bare
// time (eq). The document calls these "A time filter" in "RFC3339 format".
func parseTimeFilter(v string) (string, time.Time, error) {
	op, arg := "eq", v
	if i := strings.IndexByte(v, '('); i > 0 && strings.HasSuffix(v, ")") {
		op, arg = v[:i], v[i+1:len(v)-1]
	}
	if !slices.Contains([]string{"eq", "gt", "ge", "lt", "le"}, op) {
		return "", time.Time{}, fmt.Errorf("operator %q is not one of eq, gt, ge, lt, le", op)
	}
	t, err := time.Parse(time.RFC3339Nano, arg)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", arg)
	}
	return op, t, nil
}

var taskOrderFields = []string{"id", "uuid", "type", "priority", "startedByUser", "state", "enqueuedAt", "assignedAt", "startedAt", "updatedAt", "completedAt"}

func validTaskOrder(o string) bool {
	for _, part := range strings.Split(o, ",") {
		i := strings.IndexByte(part, '(')
		if i <= 0 || !strings.HasSuffix(part, ")") || (part[:i] != "asc" && part[:i] != "desc") ||
			!slices.Contains(taskOrderFields, part[i+1:len(part)-1]) {
			return false
		}
	}
	return true
}

// encode keeps the query for the cursor.
func (tq taskQuery) encode() string {
	v := url.Values{}
	for k, vals := range tq.multi {
		v[k] = vals
	}
	for k, t := range tq.times {
		v.Set(k, t)
	}
	if tq.lod != "" {
		v.Set("lod", tq.lod)
	}
	if tq.order != "" {
		v.Set("order", tq.order)
	}
	return v.Encode()
}

// simTask is one derived task.
type simTask struct {
	m         machine
	id        int64
	ok        bool
	result    string // ok, warning, error
	completed time.Time
}

func (t simTask) field(k string) string {
	switch k {
	case "resourceId":
		return t.m.res.ID
	case "policyId":
		return t.m.planID
	case "policyType":
		return "policy.backup.machine"
	case "type":
		return "backup"
	case "state":
		return "completed"
	case "resultCode":
		return t.result
	case "uuid":
		return derivedUUID(t.m.res.ID, "task", strconv.FormatInt(t.id, 10))
	case "id":
		return strconv.FormatInt(t.id, 10)
	case "priority":
		return "normal"
	}
	return ""
}

// times are the task's enqueue, start and completion (and update) times.
func (t simTask) times() map[string]time.Time {
	took := time.Duration(5+h(t.m.res.ID, strconv.FormatInt(t.id, 10))%50) * time.Minute
	return map[string]time.Time{"enqueuedAt": t.completed.Add(-took - time.Minute), "assignedAt": t.completed.Add(-took - 30*time.Second),
		"startedAt": t.completed.Add(-took), "updatedAt": t.completed, "completedAt": t.completed}
}

// machineTasks derives a machine's completed backup tasks: successes every
// 24 h before it started failing, then failures (with error texts) since.
// Machines without policies or not protected have none; some failing
// machines never succeeded within the history kept (30 days).
func (s *Server) machineTasks(m machine) []simTask {
	if m.planID == "" || m.status == "not_protected" {
		return nil
	}
	end, nOK := s.anchor().Add(-time.Duration(1+h(m.res.ID, "last")%20)*time.Hour), 1+int(h(m.res.ID, "n")%3)
	var out []simTask
	base := int64(h(m.res.ID, "id") % (1 << 40))
	if failingStatus(m.status) {
		since := s.failingSince(m)
		nFail := 1 + int(h(m.res.ID, "nf")%3)
		for i := range nFail {
			at := since.Add(time.Duration(i) * time.Duration(s.anchor().Sub(since)/time.Duration(nFail+1)))
			out = append(out, simTask{m: m, id: base + int64(len(out)), result: "error", completed: at})
		}
		end = since.Add(-24 * time.Hour)
		if h(m.res.ID, "neverok")%6 == 0 {
			return out
		}
	}
	result := "ok"
	if m.status == "warning" {
		result = "warning"
	}
	for i := range nOK {
		out = append(out, simTask{m: m, id: base + int64(len(out)), ok: true, result: result, completed: end.Add(-time.Duration(i) * 24 * time.Hour)})
	}
	return out
}

func (s *Server) tasksLocked(scope string, tq taskQuery) ([]simTask, error) {
	var out []simTask
	for _, m := range s.machinesLocked(scope, nil) {
		for _, t := range s.machineTasks(m) {
			if tq.keep(t) {
				out = append(out, t)
			}
		}
	}
	slices.SortStableFunc(out, tq.compare)
	return out, nil
}

func (tq taskQuery) keep(t simTask) bool {
	for k, vals := range tq.multi {
		if !slices.ContainsFunc(vals, func(v string) bool { return strings.EqualFold(v, t.field(k)) }) {
			return false
		}
	}
	times := t.times()
	for k, f := range tq.times {
		op, at, _ := parseTimeFilter(f)
		c := times[k].Compare(at)
		if !map[string]bool{"eq": c == 0, "gt": c > 0, "ge": c >= 0, "lt": c < 0, "le": c <= 0}[op] {
			return false
		}
	}
	return true
}

// compare orders by the query's order (first field) then by id.
func (tq taskQuery) compare(a, b simTask) int {
	c, field, desc := 0, "id", false
	if tq.order != "" {
		part := strings.Split(tq.order, ",")[0]
		i := strings.IndexByte(part, '(')
		field, desc = part[i+1:len(part)-1], part[:i] == "desc"
	}
	if at, ok := a.times()[field]; ok {
		c = at.Compare(b.times()[field])
	}
	c = cmp.Or(c, cmp.Compare(a.id, b.id))
	if desc {
		return -c
	}
	return c
}

// render writes the task at a level of detail: tenant, policy, resource and
// type (the document's task_1) only at long, full and debug; the list
// schema's required fields always.
func (t simTask) render(lod string) map[string]any {
	times := t.times()
	v := map[string]any{
		"id": t.id, "state": "completed", "issuer": map[string]any{"id": "policy-manager"}, "cancelRequested": false,
		"enqueuedAt": taskTime(times["enqueuedAt"], t.id), "updatedAt": taskTime(times["updatedAt"], t.id+1), "assignCount": 1,
		"assignedAt": taskTime(times["assignedAt"], t.id), "startedAt": taskTime(times["startedAt"], t.id+2),
		"completedAt": taskTime(times["completedAt"], t.id+1), "executor": map[string]any{"id": t.m.res.AgentID},
		"result": t.result_(),
	}
	if lod == "long" || lod == "full" || lod == "debug" {
		v["uuid"], v["type"], v["queue"], v["priority"] = t.field("uuid"), "backup", "backup", "normal"
		v["tenant"] = map[string]any{"id": strconv.FormatInt(t.m.t.LegacyID, 10), "uuid": t.m.t.ID, "name": t.m.t.Name, "locator": t.m.locator}
		v["policy"] = map[string]any{"id": t.m.planID, "name": t.m.planName, "type": "policy.backup.machine"}
		v["resource"] = map[string]any{"id": t.m.res.ID, "name": t.m.res.Name, "type": "resource.machine"}
	}
	return v
}

func (t simTask) result_() map[string]any {
	r := map[string]any{"code": t.result}
	if t.result == "error" {
		code, text := backupError(t.m.res.ID)
		r["error"] = map[string]any{"domain": "Backup", "code": code, "reason": code,
			"context": map[string]any{"resourceId": t.m.res.ID}, "debug": map[string]any{"msg": text}}
	}
	return r
}

// taskTime writes "Time in RFC3339 format", with or without fractions.
func taskTime(t time.Time, pick int64) string {
	if pick%2 == 0 {
		return t.UTC().Format(time.RFC3339)
	}
	return t.UTC().Format(time.RFC3339Nano)
}
