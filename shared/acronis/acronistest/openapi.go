package acronistest

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Acronis's OpenAPI documents, kept in testdata/ byte for byte as Acronis
// publishes them (copies of /work/shared/specs). Every request the simulator
// receives and every answer it sends is checked against them with
// kin-openapi, so that neither the client nor the simulator can drift from
// the real API without a test failing.
const (
	SpecAccountManagement  = "acronis-account-management-v2-openapi.json"
	SpecPolicyManagement   = "acronis-resource-policy-management-v4-openapi.json"
	SpecTasks              = "acronis-tasks-v2-openapi.json"
	SpecAlerts             = "acronis-alerts-v1-openapi.json"
	SpecAgents             = "acronis-agents-v2-openapi.json"
	SpecAdvancedAutomation = "acronis-advanced-automation-v1-openapi.json"
)

//go:embed testdata/acronis-*-openapi.json
var specFiles embed.FS

// mount places a document under the simulator's paths. The documents'
// servers are https://dev-cloud.acronis.com/api/2, .../api (resource-policy,
// whose paths start /policy_management/v4 and /resource_management/v4) and
// so on: strip is what the server URL adds in front of the document's paths.
type mount struct{ prefix, strip, file string }

var mounts = []mount{
	{"/api/2/", "/api/2", SpecAccountManagement},
	{"/api/policy_management/v4/", "/api", SpecPolicyManagement},
	{"/api/resource_management/v4/", "/api", SpecPolicyManagement},
	{"/api/task_manager/v2/", "/api/task_manager/v2", SpecTasks},
	{"/api/alert_manager/v1/", "/api/alert_manager/v1", SpecAlerts},
	{"/api/agent_manager/v2/", "/api/agent_manager/v2", SpecAgents},
	{"/api/advanced-automation/v1/", "/api/advanced-automation/v1", SpecAdvancedAutomation},
}

// Spec is one loaded document with its router.
type Spec struct {
	name   string
	doc    *openapi3.T
	router routers.Router
}

// Violation is one way a request or an answer breaks its document.
type Violation struct {
	Side   string // "request" or "answer"
	Op     string // "GET /api/2/tenants"
	Field  string // the parameter, header or JSON pointer at fault ("" = the whole message)
	Reason string
	Rules  string // which rules: a document's file name, or a named hand-written rule set
	docOp  string // the document's operation ("PUT /users/{user_id}/access_policies"), for the allow-list
}

func (v Violation) String() string {
	f := ""
	if v.Field != "" {
		f = " " + v.Field + ":"
	}
	return fmt.Sprintf("contract (%s): %s %s:%s %s", v.Rules, v.Side, v.Op, f, v.Reason)
}

// loadSpecs reads all documents once per process: parsing 1.3 MB of JSON
// for every simulator would dominate short tests.
var loadSpecs = sync.OnceValues(func() (map[string]*Spec, error) {
	out := map[string]*Spec{}
	for _, m := range mounts {
		if out[m.file] != nil {
			continue
		}
		s, err := parseSpec(m.file)
		if err != nil {
			return nil, err
		}
		out[m.file] = s
	}
	return out, nil
})

// parseSpec loads and checks one document. Examples are not validated: the
// published account-management and advanced-automation documents carry
// examples that break their own schemas (batchUsageList, DashboardData), and
// the documents are used unedited. The resource-policy document's
// ScopedExternalID pattern uses (?<name>...) groups, which Go's regexp reads
// since Go 1.22 (TestSpecsLoad checks the pattern is enforced).
func parseSpec(name string) (*Spec, error) {
	b, err := specFiles.ReadFile("testdata/" + name)
	if err != nil {
		return nil, fmt.Errorf("openapi: read %s: %w", name, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("openapi: load %s: %w", name, err)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("openapi: validate %s: %w", name, err)
	}
	doc.Servers = nil // routed on the stripped path, whatever host the simulator listens on
	mendDefects(name, doc)
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: route %s: %w", name, err)
	}
	return &Spec{name: name, doc: doc, router: r}, nil
}

// LoadSpec returns one of the documents (Spec* constants).
func LoadSpec(name string) (*Spec, error) {
	all, err := loadSpecs()
	if err != nil {
		return nil, err
	}
	s := all[name]
	if s == nil {
		return nil, fmt.Errorf("openapi: no document %q", name)
	}
	return s, nil
}

// exchange is one request matched to its documented operation, kept to
// check the answer against the same operation.
type exchange struct {
	spec   *Spec
	op     string
	input  *openapi3filter.RequestValidationInput
	custom *handRules // set when a hand-written rule set replaces the document
}

// specFor finds the document that covers a simulator path and the path the
// document knows it by.
func specFor(path string) (*Spec, string, error) {
	for _, m := range mounts {
		if strings.HasPrefix(path, m.prefix) {
			s, err := LoadSpec(m.file)
			return s, strings.TrimPrefix(path, m.strip), err
		}
	}
	return nil, "", nil
}

// matchRequest routes r in its document. It returns nil with a violation
// when no document has the operation.
func matchRequest(r *http.Request, body []byte) (*exchange, []Violation) {
	op := r.Method + " " + r.URL.Path
	spec, docPath, err := specFor(r.URL.Path)
	if err != nil {
		return nil, []Violation{{Side: "request", Op: op, Reason: err.Error(), Rules: "loader"}}
	}
	if spec == nil {
		return nil, []Violation{{Side: "request", Op: op, Field: "path", Reason: "no Acronis document covers this path", Rules: "mounts"}}
	}
	req := r.Clone(r.Context())
	req.URL.Path, req.URL.RawPath = docPath, ""
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := spec.router.FindRoute(req)
	if err != nil {
		return nil, []Violation{{Side: "request", Op: op, Field: "path", Reason: fmt.Sprintf("%s %s is not an operation of the document: %v", r.Method, docPath, err), Rules: spec.name}}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	return &exchange{spec: spec, op: op, input: in}, nil
}

// checkRequest validates path, query parameters (an undocumented one is an
// error too: kin-openapi ignores them), headers and the JSON body.
func (ex *exchange) checkRequest(ctx context.Context) []Violation {
	var out []Violation
	add := func(field, reason string) {
		out = append(out, Violation{Side: "request", Op: ex.op, Field: field, Reason: reason, Rules: ex.spec.name, docOp: ex.docOp()})
	}
	documented := map[string]bool{}
	for _, ps := range []openapi3.Parameters{ex.input.Route.PathItem.Parameters, ex.input.Route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				documented[p.Value.Name] = true
			}
		}
	}
	for _, k := range sortedKeys(ex.input.Request.URL.Query()) {
		if !documented[k] && !slices.Contains(otherSources[ex.docOp()], k) {
			add(k, "undocumented query parameter")
		}
	}
	if err := openapi3filter.ValidateRequest(ctx, ex.input); err != nil {
		for _, e := range flatten(err) {
			add(e.field, e.reason)
		}
	}
	return out
}

// otherSources lists query parameters another vendor source documents for an
// operation whose OpenAPI document omits them. The sources disagree; both
// are tolerated.
var otherSources = map[string][]string{
	// API-NOTES: "Cursor paging (account, tasks, alerts, policy v4): limit +
	// after"; the alerts document lists limit but no after.
	"GET /alerts": {"after"},
}

func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkAnswer validates an answer's status, content type and body against
// the operation. A JSON body is decoded whole; bodies of other types (report
// downloads: CSV, HTML, PDF) are checked for status and content type only,
// since no schema describes their bytes.
func (ex *exchange) checkAnswer(ctx context.Context, status int, header http.Header, body []byte) []Violation {
	var out []Violation
	add := func(field, reason string) {
		out = append(out, Violation{Side: "answer", Op: ex.op, Field: field, Reason: reason, Rules: ex.spec.name, docOp: ex.docOp()})
	}
	ref := ex.input.Route.Operation.Responses.Status(status)
	if ref == nil && status == http.StatusPartialContent && ex.input.Request.Header.Get("Range") != "" {
		// The documents list only 200 for the stored-report download; a 206
		// answering a Range request is HTTP's (RFC 9110 §15.3.7) and carries
		// a part of the same documented body, so it is held to the 200.
		ref = ex.input.Route.Operation.Responses.Status(http.StatusOK)
	}
	if ref == nil {
		ref = ex.input.Route.Operation.Responses.Default()
	}
	ct := header.Get("Content-Type")
	if (ref == nil || ref.Value == nil) && status >= 400 {
		return ex.checkUndocumentedError(status, header, body)
	}
	if ref == nil || ref.Value == nil {
		add("status", fmt.Sprintf("%d is not a documented answer", status))
		return out
	}
	if len(ref.Value.Content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			add("body", fmt.Sprintf("a body where status %d documents none", status))
		}
		return out
	}
	if len(body) == 0 {
		add("body", fmt.Sprintf("no body where status %d documents one", status))
		return out
	}
	mt := ref.Value.Content.Get(ct)
	if mt == nil {
		add("Content-Type", fmt.Sprintf("%q is not a documented content type for %d", ct, status))
		return out
	}
	if !isJSON(ct) {
		return out
	}
	in := &openapi3filter.ResponseValidationInput{RequestValidationInput: ex.input, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		for _, e := range flatten(err) {
			add(e.field, e.reason)
		}
	}
	return out
}

// docOp names the operation as the document does.
func (ex *exchange) docOp() string {
	if ex.input == nil {
		return ""
	}
	return ex.input.Route.Method + " " + ex.input.Route.Path
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

type finding struct{ field, reason string }

// flatten turns kin-openapi's nested errors into one finding per field,
// naming the parameter or the JSON pointer at fault. Concrete types are
// matched before unwrapping: errors.As would skip a RequestError (which
// names the parameter) for the MultiError inside it.
func flatten(err error) []finding {
	switch e := err.(type) {
	case openapi3.MultiError:
		var out []finding
		for _, x := range e {
			out = append(out, flatten(x)...)
		}
		return out
	case *openapi3filter.RequestError:
		return flattenRequestError(e)
	case *openapi3filter.ResponseError:
		if e.Err != nil {
			return flatten(e.Err)
		}
		return []finding{{"", e.Reason}}
	case *openapi3.SchemaError:
		if e.Origin != nil {
			if inner := flatten(e.Origin); len(inner) > 0 && inner[0].field != "" {
				return inner
			}
		}
		reason := e.Reason
		if reason == "" {
			reason = "does not match schema field " + e.SchemaField
		}
		return []finding{{"/" + strings.Join(e.JSONPointer(), "/"), reason}}
	}
	if u := errors.Unwrap(err); u != nil {
		return flatten(u)
	}
	return []finding{{"", oneLine(err.Error())}}
}

func flattenRequestError(e *openapi3filter.RequestError) []finding {
	name := "body"
	switch {
	case e.Parameter != nil:
		name = e.Parameter.Name
	case strings.Contains(e.Reason, "Content-Type"):
		name = "Content-Type"
	}
	if e.Err == nil {
		return []finding{{name, e.Reason}}
	}
	inner := flatten(e.Err)
	for i := range inner {
		switch {
		case e.Parameter != nil && (inner[i].field == "/" || inner[i].field == ""):
			inner[i].field = name
		case e.Parameter != nil:
			inner[i].field = name + inner[i].field
		case inner[i].field == "":
			inner[i].field = name
		}
	}
	return inner
}

// oneLine keeps the first line of a message: kin-openapi appends the whole
// schema and value, which drown the reason.
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// CheckAnswer validates an answer to method and target (a simulator path
// with its query, e.g. "/api/2/tenants?uuids=...") against the document
// that covers target. It returns an error if no document has the operation.
func CheckAnswer(method, target string, status int, contentType string, body []byte) ([]Violation, error) {
	req, err := http.NewRequest(method, "http://sim"+target, nil)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	ex, vs := matchRequest(req, nil)
	if ex == nil {
		return nil, fmt.Errorf("openapi: %v", vs)
	}
	return ex.checkAnswer(context.Background(), status, http.Header{"Content-Type": {contentType}}, body), nil
}

// CheckRequest validates a request (its body read from body) against the
// document that covers its path, with the prose rules.
func CheckRequest(r *http.Request, body []byte) []Violation {
	if h := handRulesFor(r.Method, r.URL.Path); h != nil {
		return h.checkRequest(r, body)
	}
	ex, vs := matchRequest(r, body)
	if ex == nil {
		return vs
	}
	return append(ex.checkRequest(r.Context()), proseViolations(ex)...)
}

// v4ErrorEnvelope is what every error schema of the resource-policy
// document shares (BadRequestError, NotFoundError, InternalServerError...).
const v4ErrorEnvelope = `{"type":"object","required":["code","domain"],"properties":{
	"code":{"type":"string"},"domain":{"type":"string"},"message":{"type":"string"},"context":{"type":"object"}}}`

// checkUndocumentedError checks an error status the operation does not
// list. The documents list error statuses incompletely (POST /tenants lists
// no 409, yet API-NOTES records "Names must be unique in the hierarchy
// (1004)"; GET /tenants/{id}/usages lists no 404), so such an answer is held
// to the family's error envelope instead: the account-management
// errorScheme, or the envelope common to the v4 error schemas.
// familyErrorSchema names each document's own error schema, which holds an
// error status the operation does not list (the documents list them
// incompletely: the alert list documents no 400).
var familyErrorSchema = map[string]string{
	SpecAccountManagement: "errorScheme",
	SpecAlerts:            "Error",
	SpecTasks:             "domainError",
}

func (ex *exchange) checkUndocumentedError(status int, header http.Header, body []byte) []Violation {
	rules := ex.spec.name + " (undocumented error status: family envelope)"
	if ex.spec.name == SpecPolicyManagement {
		return checkSchemaJSON(rules, ex.op, v4ErrorEnvelope, header, body)
	}
	ref := ex.spec.doc.Components.Schemas[familyErrorSchema[ex.spec.name]]
	if ref == nil || ref.Value == nil {
		return []Violation{{Side: "answer", Op: ex.op, Field: "status", Reason: fmt.Sprintf("%d is not a documented answer", status), Rules: ex.spec.name}}
	}
	return checkSchemaValue(rules, ex.op, ref.Value, header, body)
}

// mendDefects corrects, in memory, what a document gets wrong beyond doubt;
// the files stay as published. Each correction says why.
func mendDefects(name string, doc *openapi3.T) {
	if name != SpecAccountManagement {
		return
	}
	// POST /idp/token's Authorization pattern "^Basic [0-9a-zA-Z\-\._~+/]*=$"
	// admits only credentials whose base64 ends in exactly one "=": two
	// thirds of valid RFC 7617 Basic credentials (no padding, or "==") would
	// be refused. Read it as base64 with its optional padding.
	if op := doc.Paths.Value("/idp/token"); op != nil && op.Post != nil {
		for _, p := range op.Post.Parameters {
			if v := p.Value; v != nil && v.In == openapi3.ParameterInHeader && strings.EqualFold(v.Name, "Authorization") && v.Schema != nil && v.Schema.Value != nil {
				v.Schema.Value.Pattern = `^Basic [0-9a-zA-Z+/]*={0,2}$`
			}
		}
	}
}
