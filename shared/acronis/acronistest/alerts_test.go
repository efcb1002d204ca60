package acronistest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

// docChecker validates requests and answers of the alert, task and agent
// families against Acronis's own documents (testdata/, byte-identical to
// /work/shared/specs) with kin-openapi.
type docChecker struct {
	t       testing.TB
	routers map[string]routers.Router // path prefix -> router
	docs    map[string]*openapi3.T
	mu      sync.Mutex
	checked map[string]int // "METHOD path status" -> answers validated
}

var families = map[string]string{
	"/api/alert_manager/v1": "acronis-alerts-v1-openapi.json",
	"/api/task_manager/v2":  "acronis-tasks-v2-openapi.json",
	"/api/agent_manager/v2": "acronis-agents-v2-openapi.json",
}

func newDocChecker(t testing.TB, base string) *docChecker {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	c := &docChecker{t: t, routers: map[string]routers.Router{}, docs: map[string]*openapi3.T{}, checked: map[string]int{}}
	for prefix, name := range families {
		doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(filepath.Dir(file), "testdata", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		doc.Servers = openapi3.Servers{{URL: base + prefix}}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatalf("%s: router: %v", name, err)
		}
		c.routers[prefix], c.docs[prefix] = r, doc
	}
	return c
}

// check validates one exchange. An error status the document does not list
// for the operation (GET /alerts lists no 400) is checked against the
// family's error schema instead.
func (c *docChecker) check(req *http.Request, status int, header http.Header, body []byte) error {
	prefix := ""
	for p := range c.routers {
		if strings.HasPrefix(req.URL.Path, p) {
			prefix = p
		}
	}
	if prefix == "" {
		return nil // not one of these families (token, tenants)
	}
	route, params, err := c.routers[prefix].FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: no documented route: %w", req.Method, req.URL.Path, err)
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if status < 300 {
		// Requests that were refused are refused for a reason the document
		// may state only in prose; those that were answered must be valid.
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("request %s: %w", req.URL.RequestURI(), err)
		}
	}
	c.mu.Lock()
	c.checked[fmt.Sprintf("%s %s %d", req.Method, route.Path, status)]++
	c.mu.Unlock()
	if route.Operation.Responses.Status(status) == nil && status >= 400 {
		return c.checkError(prefix, status, body)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("answer %d to %s: %w", status, req.URL.RequestURI(), err)
	}
	return nil
}

func (c *docChecker) checkError(prefix string, status int, body []byte) error {
	name := map[string]string{"/api/alert_manager/v1": "Error", "/api/task_manager/v2": "domainError"}[prefix]
	s := c.docs[prefix].Components.Schemas[name]
	if s == nil {
		return fmt.Errorf("undocumented status %d in %s", status, prefix)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("error answer is not JSON: %w", err)
	}
	if err := s.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("error answer %d: %w", status, err)
	}
	return nil
}

// transport validates every exchange that passes through it.
func (c *docChecker) transport(next http.RoundTripper) http.RoundTripper {
	return rtFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if err := c.check(req, resp.StatusCode, resp.Header, b); err != nil {
			c.t.Error(err)
		}
		return resp, nil
	})
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fixture is a simulated MSP: partners, customers with machines, an API
// client at the root, and a client whose transport checks every exchange.
type fixture struct {
	sim     *acronistest.Server
	c       *acronis.Client
	tok     string
	tenants []string // customers
	checker *docChecker
}

func newFixture(t testing.TB, customers, machines int, pageCap int) *fixture {
	t.Helper()
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 7, PageCap: pageCap, Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }})
	ids := sim.GenerateTree(1, customers, 0)
	f := &fixture{sim: sim, tenants: ids[1:], checker: newDocChecker(t, sim.URL())}
	for i, id := range f.tenants {
		sim.AddResources(id, machines, int64(i))
	}
	cid, secret := sim.AddAPIClient("")
	f.tok = acronistest.MintToken(t, sim, cid, secret)
	hc := &http.Client{Transport: f.checker.transport(http.DefaultTransport)}
	src := acronis.NewCachedSource(&acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: cid, ClientSecret: secret}, HTTP: hc}, 0)
	c, err := acronis.NewClient(sim.URL(), src, hc)
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

// raw sends a GET with the fixture's token and checks the answer against
// the documents.
func (f *fixture) raw(t testing.TB, path string, q url.Values) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.sim.URL()+path+"?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+f.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := f.checker.check(req, resp.StatusCode, resp.Header, b); err != nil {
		t.Error(err)
	}
	return resp.StatusCode, b
}

// Every answer of the three families, success and refusal, is what the
// documents describe (the client's own requests included).
func TestAnswersMatchDocuments(t *testing.T) {
	f := newFixture(t, 12, 15, 7)
	ctx := context.Background()
	for _, err := range f.c.Alerts(ctx, acronis.AlertQuery{Tenants: f.tenants, Limit: 5, Categories: []string{"Backup"}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, err := range f.c.Tasks(ctx, acronis.TaskQuery{Limit: 9}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, err := range f.c.Agents(ctx, acronis.AgentQuery{Limit: 11}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	refusals := []struct {
		path string
		q    url.Values
		want int
	}{
		{acronis.AlertsPath, url.Values{"tenants": {"1"}}, 400},
		{acronis.AlertsPath, url.Values{"severity": {"fatal"}}, 400},
		{acronis.AlertsPath, url.Values{"after": {"garbage"}}, 400},
		{acronis.TasksPath, url.Values{"resultCode": {"failed"}}, 400},
		{acronis.TasksPath, url.Values{"tenant": {"x"}}, 400},
		{acronis.TasksPath, url.Values{"lod": {"tiny"}}, 200},
		{acronis.AgentsPath, url.Values{"online": {"maybe"}}, 400},
		{acronis.AgentsPath, url.Values{"tenant_id": {"00000000-0000-4000-8000-000000000000"}}, 403},
	}
	for _, r := range refusals {
		if st, body := f.raw(t, r.path, r.q); st != r.want {
			t.Errorf("%s?%s: %d %s, want %d", r.path, r.q.Encode(), st, body, r.want)
		}
	}
	for _, want := range []string{"GET /alerts 200", "GET /tasks 200", "GET /agents 200", "GET /tasks 400", "GET /agents 400", "GET /agents 403"} {
		if f.checker.checked[want] == 0 {
			t.Errorf("no answer %q was validated (validated: %v)", want, f.checker.checked)
		}
	}
}

// The checker finds what is wrong: an answer missing a required field or
// with a value outside an enum fails it.
func TestDocCheckerFindsViolations(t *testing.T) {
	c := newDocChecker(t, "http://sim")
	tests := []struct{ name, path, body, want string }{
		{"alert without tenant", "/api/alert_manager/v1/alerts", `{"items":[{"id":"01C2D69A-112B-4DE1-98AE-8688223C5F4B","type":"BackupFailed","severity":"critical","createdAt":"2021-04-05T20:41:41Z","details":{},"receivedAt":"2021-04-05T20:41:41Z","updatedAt":"2021-04-05T20:41:41Z","category":"Backup"}]}`, "tenant"},
		{"alert time without zone", "/api/alert_manager/v1/alerts", `{"items":[{"id":"01C2D69A-112B-4DE1-98AE-8688223C5F4B","type":"BackupFailed","severity":"critical","createdAt":"2021-04-05T20:41:41","details":{},"receivedAt":"2021-04-05T20:41:41Z","updatedAt":"2021-04-05T20:41:41Z","category":"Backup","tenant":{"id":"5","locator":"/5/"}}]}`, "pattern"},
		{"task result outside enum", "/api/task_manager/v2/tasks", `{"items":[{"id":1,"state":"completed","issuer":{"id":"x"},"cancelRequested":false,"enqueuedAt":"t","updatedAt":"t","assignCount":1,"result":{"code":"failed"}}]}`, "failed"},
		{"agents without paging", "/api/agent_manager/v2/agents", `{"items":[]}`, "paging"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://sim"+tt.path, nil)
			err := c.check(req, 200, http.Header{"Content-Type": {"application/json"}}, []byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one naming %q", err, tt.want)
			}
		})
	}
}
