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

func (s *Server) routesAgents() {
	s.route("GET /api/agent_manager/v2/agents", s.handleAgents)
}

// writeAgentError is the agent document's REST error: {code, domain, debug{msg}}
// with code and domain from its enums.
func writeAgentError(w http.ResponseWriter, status int, code, msg string) {
	domain := "AGENT_MANAGER"
	WriteJSON(w, status, map[string]any{"code": code, "domain": domain, "debug": map[string]any{"msg": msg}})
}

// agentParams are the GET /agents query parameters of the agent document.
var agentParams = []string{"after", "before", "hostname", "limit", "online", "order", "os_family", "tenant_id", "unit", "up_to_date"}

// agentQuery is a parsed first-page query; it travels in the cursor because
// the document makes after and before "mutually exclusive with all other but
// limit query parameters".
type agentQuery struct {
	root     string // tenant UUID of the subtree
	online   string
	hostname string
	osFamily string
	order    string
}

// offlineAgent, and among those noLastSeen, are the machines whose agents the
// simulator reports offline (20%) and offline without a last-seen time.
func offlineAgent(m machine) bool { return h(m.res.ID, "offline")%5 == 0 }
func noLastSeen(m machine) bool   { return h(m.res.ID, "lastseen")%3 == 0 }

func (s *Server) handleAgents(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	q := r.URL.Query()
	aq, limit, offset, err := s.parseAgentRequest(q, auth)
	if err != nil {
		status, code := http.StatusBadRequest, "BAD_REQUEST"
		if err == errAgentScope {
			status, code = http.StatusForbidden, "ACCESS_DENIED"
		}
		writeAgentError(w, status, code, err.Error())
		return
	}
	s.mu.Lock()
	all := s.agentsLocked(aq)
	s.mu.Unlock()
	if limit == 0 { // "If this parameter is not provided or set to zero, there is no limit"
		limit = len(all)
	}
	offset = min(offset, len(all))
	end := min(offset+limit, len(all))
	cursors := map[string]any{}
	if end < len(all) {
		cursors["after"] = encodeCursor(cursor{Filter: "agents>", Value: []string{aq.encode()}, Offset: end})
	}
	if offset > 0 {
		cursors["before"] = encodeCursor(cursor{Filter: "agents<", Value: []string{aq.encode()}, Offset: offset})
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": all[offset:end], "paging": map[string]any{"cursors": cursors}})
}

var errAgentScope = fmt.Errorf("tenant_id: not in the caller's scope")

// parseAgentRequest reads the first page's filters or a cursor (after:
// "agents>" from the next item; before: "agents<" up to the page's first).
func (s *Server) parseAgentRequest(q url.Values, auth tokenInfo) (agentQuery, int, int, error) {
	for k := range q {
		if !slices.Contains(agentParams, k) {
			return agentQuery{}, 0, 0, fmt.Errorf("%s: unknown parameter", k)
		}
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return agentQuery{}, 0, 0, fmt.Errorf("limit: %q is not a non-negative integer", v)
		}
		limit = n
	}
	after, before := q.Get("after"), q.Get("before")
	if after == "" && before == "" {
		aq, err := s.parseAgentQuery(q, auth)
		return aq, limit, 0, err
	}
	for k := range q {
		if k != "limit" && !(k == "after" && before == "") && !(k == "before" && after == "") {
			return agentQuery{}, 0, 0, fmt.Errorf("after/before: mutually exclusive with all other but limit query parameters, got %s", k)
		}
	}
	kind := "agents>"
	if before != "" {
		kind = "agents<"
	}
	c, err := decodeCursor(after + before)
	if err != nil || c.Filter != kind || len(c.Value) != 1 {
		return agentQuery{}, 0, 0, fmt.Errorf("after/before: invalid cursor")
	}
	vals, _ := url.ParseQuery(c.Value[0])
	aq := agentQuery{root: vals.Get("root"), online: vals.Get("online"), hostname: vals.Get("hostname"), osFamily: vals.Get("os_family"), order: vals.Get("order")}
	if before == "" {
		return aq, limit, c.Offset, nil
	}
	// The page that ends where the before cursor points.
	if limit == 0 || limit > c.Offset {
		limit = c.Offset
	}
	return aq, limit, c.Offset - limit, nil
}

func (s *Server) parseAgentQuery(q url.Values, auth tokenInfo) (agentQuery, error) {
	aq := agentQuery{root: auth.tenantID, online: q.Get("online"), hostname: q.Get("hostname"), osFamily: q.Get("os_family"), order: q.Get("order")}
	if aq.online != "" {
		if _, err := strconv.ParseBool(aq.online); err != nil {
			return aq, fmt.Errorf("online: %q is not a boolean", aq.online)
		}
	}
	if v := q.Get("up_to_date"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return aq, fmt.Errorf("up_to_date: %q is not a boolean", v)
		}
	}
	if aq.osFamily != "" && !slices.Contains([]string{"UNKNOWN", "WINDOWS", "LINUX", "MACOSX", "SOLARIS"}, strings.ToUpper(aq.osFamily)) {
		return aq, fmt.Errorf("os_family: %q is not one of UNKNOWN, WINDOWS, LINUX, MACOSX, SOLARIS", aq.osFamily)
	}
	if aq.order != "" && aq.order != "asc(hostname)" && aq.order != "desc(hostname)" {
		return aq, fmt.Errorf("order: %q: only asc(hostname) or desc(hostname) is supported", aq.order)
	}
	if id := q.Get("tenant_id"); id != "" {
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenantByAnyIDLocked(id)
		if t == nil || !slices.Contains(s.subtreeLocked(auth.tenantID), t.ID) {
			return aq, errAgentScope
		}
		aq.root = t.ID
	}
	return aq, nil
}

func (aq agentQuery) encode() string {
	return url.Values{"root": {aq.root}, "online": {aq.online}, "hostname": {aq.hostname}, "os_family": {aq.osFamily}, "order": {aq.order}}.Encode()
}

func (aq agentQuery) keep(m machine) bool {
	if aq.online != "" {
		want, _ := strconv.ParseBool(aq.online)
		if want == offlineAgent(m) {
			return false
		}
	}
	if aq.osFamily != "" && !strings.EqualFold(aq.osFamily, "WINDOWS") {
		return false // every simulated agent runs on Windows
	}
	return hostMatch(aq.hostname, agentHostname(m))
}

// hostMatch applies the document's hlike (starts with), like (contains) and
// tlike (ends with) masks; a bare value is the full name.
func hostMatch(mask, host string) bool {
	if mask == "" {
		return true
	}
	for fn, test := range map[string]func(string, string) bool{"hlike(": strings.HasPrefix, "like(": strings.Contains, "tlike(": strings.HasSuffix} {
		if strings.HasPrefix(mask, fn) && strings.HasSuffix(mask, ")") {
			return test(strings.ToLower(host), strings.ToLower(mask[len(fn):len(mask)-1]))
		}
	}
	return strings.EqualFold(mask, host)
}

func agentHostname(m machine) string { return strings.ToLower(m.res.Name) + ".local" }

func (s *Server) agentsLocked(aq agentQuery) []map[string]any {
	var ms []machine
	for _, m := range s.machinesLocked(aq.root, nil) {
		if aq.keep(m) {
			ms = append(ms, m)
		}
	}
	// The document orders by hostname, "agents with same host names are
	// further ordered ... by their agent identifiers".
	slices.SortStableFunc(ms, func(a, b machine) int {
		c := cmp.Or(strings.Compare(agentHostname(a), agentHostname(b)), strings.Compare(a.res.AgentID, b.res.AgentID))
		if aq.order == "desc(hostname)" {
			return -c
		}
		return c
	})
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, s.agentView(m))
	}
	return out
}

// agentView is the document's Agent with every required field. The document
// has no last-seen field: the simulator puts one in the free-form meta object
// ("The agent metadata") and leaves it out for some offline agents.
func (s *Server) agentView(m machine) map[string]any {
	meta := map[string]any{}
	switch {
	case !offlineAgent(m):
		meta["last_seen"] = s.anchor().Add(-time.Duration(h(m.res.ID, "seen")%300) * time.Second).Format(time.RFC3339)
	case !noLastSeen(m):
		// Zone-less, as API-NOTES says platform times sometimes come.
		meta["last_seen"] = s.anchor().Add(-time.Duration(2+h(m.res.ID, "seen")%200) * time.Hour).Format("2006-01-02T15:04:05")
	}
	reg := s.anchor().Add(-time.Duration(200+h(m.res.ID, "reg")%400) * 24 * time.Hour)
	version := map[string]any{"current": map[string]any{"release_id": "24.10.0", "build": "38690"}}
	return map[string]any{
		"id": m.res.AgentID, "hostname": agentHostname(m), "name": m.res.Name, "online": !offlineAgent(m), "enabled": true,
		"tenant":            map[string]any{"id": strconv.FormatInt(m.t.LegacyID, 10), "name": m.t.Name},
		"installer_version": map[string]any{"current": map[string]any{"major": 24, "minor": 10, "build_number": 38690}},
		"core_version":      version, "units": []any{map[string]any{"name": "backup", "version": version}},
		"meta": meta, "auto_update": false, "timezone": "UTC",
		"platform":          map[string]any{"family": "WINDOWS", "arch": "X64", "name": "Windows Server 2022", "version_major": 10, "version_minor": 0},
		"registration_date": reg.Format(time.RFC1123Z), "registration_id": derivedUUID(m.res.AgentID, "reg")[:27],
	}
}
