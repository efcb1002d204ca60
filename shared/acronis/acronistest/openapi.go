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
		out = append(out, Violation{Side: "request", Op: ex.op, Field: field, Reason: reason, Rules: ex.spec.name})
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
		if !documented[k] {
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
		out = append(out, Violation{Side: "answer", Op: ex.op, Field: field, Reason: reason, Rules: ex.spec.name})
	}
	ref := ex.input.Route.Operation.Responses.Status(status)
	if ref == nil {
		ref = ex.input.Route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		add("status", fmt.Sprintf("%d is not a documented answer", status))
		return out
	}
	ct := header.Get("Content-Type")
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

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

type finding struct{ field, reason string }

// flatten turns kin-openapi's nested errors into one finding per field,
// naming the parameter or the JSON pointer at fault.
func flatten(err error) []finding {
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 0 {
		var out []finding
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		if re.Err != nil {
			if inner := flatten(re.Err); len(inner) > 0 && re.Parameter != nil {
				for i := range inner {
					inner[i].field = strings.TrimSuffix(re.Parameter.Name+inner[i].field, "/")
				}
				return inner
			} else if len(inner) > 0 && inner[0].field != "" {
				return inner
			}
		}
		f := "body"
		if re.Parameter != nil {
			f = re.Parameter.Name
		}
		return []finding{{f, oneLine(re.Error())}}
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		p := "/" + strings.Join(se.JSONPointer(), "/")
		reason := se.Reason
		if reason == "" {
			reason = "does not match schema field " + se.SchemaField
		}
		if se.Origin != nil {
			if inner := flatten(se.Origin); len(inner) > 0 && inner[0].field != "/" {
				return inner
			}
		}
		return []finding{{p, reason}}
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		return []finding{{"", oneLine(pe.Error())}}
	}
	return []finding{{"", oneLine(err.Error())}}
}

// oneLine keeps the first line of a message: kin-openapi appends the whole
// schema and value, which drown the reason.
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
