package acronistest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// contractState holds what the contract check found for one simulator. A
// test's simulator fails that test at cleanup with every violation (the
// handlers run on server goroutines, where t.Fatal is not allowed and
// t.Errorf after the test ended panics); a standalone one logs them.
type contractState struct {
	mu     sync.Mutex
	tb     testing.TB
	found  []Violation
	expect map[string]int // "METHOD /path" -> rejections a test provokes on purpose
	// deviations are answers off the documents on purpose (SetUsageQuirks:
	// what the field has seen); kept apart so tests can see them noticed.
	deviations []Violation
	known      []Violation // on the allow-list (knownviolations.go)
}

// maxChecked bounds how much of an answer is kept for the check. The
// largest JSON answer the simulator sends (a 100-tenant usage batch) is
// about 100 KB; a JSON answer beyond the bound has its body left unchecked
// (status and content type are still checked) rather than held in memory.
const maxChecked = 8 << 20

// Violations returns what the contract check found so far.
func (s *Server) Violations() []Violation {
	s.contract.mu.Lock()
	defer s.contract.mu.Unlock()
	return append([]Violation(nil), s.contract.found...)
}

// Deviations returns the violations of answers that leave the documents on
// purpose (usage answers while SetUsageQuirks is on). They fail no test.
func (s *Server) Deviations() []Violation {
	s.contract.mu.Lock()
	defer s.contract.mu.Unlock()
	return append([]Violation(nil), s.contract.deviations...)
}

// Known returns the violations found that are on the allow-list of
// knownviolations.go (owned by files being rewritten elsewhere).
func (s *Server) Known() []Violation {
	s.contract.mu.Lock()
	defer s.contract.mu.Unlock()
	return append([]Violation(nil), s.contract.known...)
}

// keepKnown files allowed violations apart and returns the others.
func (s *Server) keepKnown(vs []Violation) []Violation {
	rest, allowed := splitKnown(vs)
	if len(allowed) > 0 {
		s.contract.mu.Lock()
		s.contract.known = append(s.contract.known, allowed...)
		s.contract.mu.Unlock()
	}
	return rest
}

// ExpectRejected declares that the test sends one request to method and
// path (no query) that breaks the documents on purpose: it is answered 400
// as the platform would, and not counted as a violation. An expectation
// never used fails the test, so a probe that stopped probing is noticed.
func (s *Server) ExpectRejected(method, path string) {
	s.contract.mu.Lock()
	defer s.contract.mu.Unlock()
	if s.contract.expect == nil {
		s.contract.expect = map[string]int{}
	}
	s.contract.expect[method+" "+path]++
}

// watchContract makes t fail with every violation once the simulator has
// stopped (register before Close, so it runs after: cleanups run last first).
func (s *Server) watchContract(t testing.TB) {
	s.contract.mu.Lock()
	s.contract.tb = t
	s.contract.mu.Unlock()
	t.Cleanup(func() {
		s.contract.mu.Lock()
		defer s.contract.mu.Unlock()
		for _, v := range s.contract.found {
			t.Errorf("%s", v)
		}
		for k, n := range s.contract.expect {
			if n > 0 {
				t.Errorf("contract: %d expected rejection(s) of %s never happened", n, k)
			}
		}
	})
}

// record keeps violations; expected reports whether a request's violations
// were declared with ExpectRejected (then they are not kept).
func (s *Server) record(r *http.Request, vs []Violation, request bool) (expected bool) {
	s.contract.mu.Lock()
	defer s.contract.mu.Unlock()
	key := r.Method + " " + r.URL.Path
	if request && s.contract.expect[key] > 0 {
		s.contract.expect[key]--
		return true
	}
	s.contract.found = append(s.contract.found, vs...)
	if s.contract.tb == nil {
		for _, v := range vs {
			log.Printf("acronistest: %s", v)
		}
	}
	return false
}

// admit checks a request against its contract. It answers a request that
// breaks it with the platform's 400 (404 for an operation no document has)
// and returns false; otherwise the exchange to check the answer with.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (*exchange, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return nil, false // the client went away mid-body
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var ex *exchange
	var vs []Violation
	if h := handRulesFor(r.Method, r.URL.Path); h != nil {
		ex, vs = &exchange{op: r.Method + " " + r.URL.Path, custom: h}, h.checkRequest(r, body)
	} else if ex, vs = matchRequest(r, body); ex != nil {
		vs = append(ex.checkRequest(r.Context()), proseViolations(ex)...)
	}
	if vs = s.keepKnown(vs); len(vs) == 0 {
		return ex, true
	}
	s.record(r, vs, true)
	rejectRequest(w, r, ex, vs)
	return nil, false
}

// rejectRequest answers in the envelope of the API family, naming each
// parameter or field at fault.
func rejectRequest(w http.ResponseWriter, r *http.Request, ex *exchange, vs []Violation) {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, strings.TrimSpace(v.Field+": "+v.Reason))
	}
	msg := "invalid request: " + strings.Join(parts, "; ")
	switch {
	case ex == nil:
		WriteError(w, http.StatusNotFound, "NotFound", "no such endpoint: "+r.Method+" "+r.URL.Path, "")
	case ex.spec != nil && ex.input.Route.Path == "/idp/token":
		// The token endpoint answers in its own tokenError shape (OAuth 2.0's).
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": msg})
	case len(vs) == 1 && vs[0].Field == "Content-Type" && ex.spec != nil && ex.input.Route.Operation.Responses.Status(415) != nil:
		WriteError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", msg, "")
	case ex.custom != nil:
		WriteJSON(w, http.StatusBadRequest, map[string]any{"Message": msg})
	case ex.spec.name == SpecAlerts:
		writeAlertError(w, http.StatusBadRequest, "BadRequest", msg)
	case ex.spec.name == SpecTasks:
		writeTaskError(w, http.StatusBadRequest, "BadRequest", msg)
	case ex.spec.name == SpecAgents:
		writeAgentError(w, http.StatusBadRequest, "BAD_REQUEST", msg)
	case ex.spec.name == SpecPolicyManagement:
		WriteJSON(w, http.StatusBadRequest, map[string]any{"code": "BadRequestError", "domain": "General", "message": msg,
			"context": map[string]any{"fields": fieldsOf(vs)}})
	default:
		WriteError(w, http.StatusBadRequest, "BadRequest", msg, strings.Join(fieldsOf(vs), ","))
	}
}

func fieldsOf(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Field)
	}
	return out
}

// checkAnswer validates what the handler answered. Answers that never
// completed (the connection was taken over or dropped) are not answers.
func (s *Server) checkAnswer(r *http.Request, ex *exchange, tap *answerTap) {
	if ex == nil || tap.hijacked {
		return
	}
	status := tap.status
	if status == 0 {
		status = http.StatusOK
	}
	body := tap.body.Bytes()
	if tap.overflow {
		body = nil // too large to hold: see maxChecked
	}
	var vs []Violation
	switch {
	case ex.custom != nil:
		vs = ex.custom.checkAnswer(ex.op, status, tap.header, body)
	case status == http.StatusOK && s.cfg.PolicyStatusShape != PolicyShapeDocument && r.URL.Path == policyStatusesPath:
		vs = checkSchemaJSON(seedRules, ex.op, policyStatusSeedAnswer, tap.header, body)
	case tap.overflow:
		vs = ex.checkAnswer(context.Background(), status, tap.header, nil)
	default:
		vs = ex.checkAnswer(r.Context(), status, tap.header, body)
	}
	if vs = s.keepKnown(vs); len(vs) == 0 {
		return
	}
	if s.quirks() && strings.HasPrefix(r.URL.Path, "/api/2/tenants/") && strings.HasSuffix(r.URL.Path, "/usages") || r.URL.Path == "/api/2/tenants/usages" && s.quirks() {
		s.contract.mu.Lock()
		s.contract.deviations = append(s.contract.deviations, vs...)
		s.contract.mu.Unlock()
		return
	}
	s.record(r, vs, false)
}

// answerTap passes an answer through and keeps a copy of its status,
// headers and (up to maxChecked) body for the check.
type answerTap struct {
	http.ResponseWriter
	status   int
	header   http.Header
	body     bytes.Buffer
	overflow bool
	hijacked bool
}

func (a *answerTap) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
		a.header = a.ResponseWriter.Header().Clone()
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerTap) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	if !a.overflow && a.body.Len()+len(b) <= maxChecked {
		a.body.Write(b)
	} else {
		a.overflow = true
	}
	return a.ResponseWriter.Write(b)
}

func (a *answerTap) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	a.hijacked = true
	hj, ok := a.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("acronistest: answer writer cannot be hijacked")
	}
	return hj.Hijack()
}

func (a *answerTap) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// proseRule is a constraint a document states in words, which no schema
// keyword expresses; the real service enforces it with a 400.
type proseRule struct {
	quote string
	check func(q url.Values) (field, reason string)
}

// proseRules are keyed by the document's operation ("GET /tenants").
var proseRules = map[string][]proseRule{
	"GET /tenants": {
		{`uuids: "Maximum of 100 UUIDs."`, maxItems("uuids", 100)},
		{"uuids: \"Is mutually exclusive with `subtree_root_id` and `parent_id`.\"", exclusive("uuids", "subtree_root_id", "parent_id")},
	},
	// The document gives no maximum for tenants=; API-NOTES: "Batch filters
	// (uuids=, tenants=, or(...)): at most 100 ids per call."
	"GET /tenants/usages": {{`API-NOTES: "at most 100 ids per call"`, maxItems("tenants", 100)}},
	"GET /policy_management/v4/policy_statuses": {
		{`tenant_id: "Filter by one or more tenant IDs or UUIDs. Maximum 100 items."`, maxItems("tenant_id", 100)},
	},
}

func proseViolations(ex *exchange) []Violation {
	q := ex.input.Request.URL.Query()
	var out []Violation
	for _, rule := range proseRules[ex.input.Route.Method+" "+ex.input.Route.Path] {
		if field, reason := rule.check(q); field != "" {
			out = append(out, Violation{Side: "request", Op: ex.op, Field: field, Reason: reason + " (" + rule.quote + ")", Rules: ex.spec.name + " prose"})
		}
	}
	return out
}

// maxItems counts a comma-separated list, also inside or(...) and not(...).
func maxItems(name string, n int) func(url.Values) (string, string) {
	return func(q url.Values) (string, string) {
		v := q.Get(name)
		for _, fn := range []string{"or(", "not("} {
			if strings.HasPrefix(v, fn) && strings.HasSuffix(v, ")") {
				v = v[len(fn) : len(v)-1]
			}
		}
		if k := strings.Count(v, ",") + 1; v != "" && k > n {
			return name, fmt.Sprintf("%d items, more than %d", k, n)
		}
		return "", ""
	}
}

// exclusive: at most one of the names may be present.
func exclusive(names ...string) func(url.Values) (string, string) {
	return func(q url.Values) (string, string) {
		var present []string
		for _, n := range names {
			if q.Has(n) {
				present = append(present, n)
			}
		}
		if len(present) > 1 {
			return strings.Join(present, ","), "mutually exclusive parameters sent together"
		}
		return "", ""
	}
}
