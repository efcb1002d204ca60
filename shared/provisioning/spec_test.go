package provisioning_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

// specCheck checks every account-management answer the simulator gives
// against Acronis's OpenAPI document, so the provisioning tests run against
// answers in the documented shapes only.
type specCheck struct {
	next http.RoundTripper
	spec *acronistest.Spec
	mu   sync.Mutex
	errs []string
}

func newSpecCheck(t *testing.T, next http.RoundTripper) *specCheck {
	spec, err := acronistest.LoadSpec(acronistest.SpecAccountManagement)
	if err != nil {
		t.Fatal(err)
	}
	c := &specCheck{next: next, spec: spec}
	t.Cleanup(func() {
		for _, e := range c.errs {
			t.Error(e)
		}
	})
	return c
}

// template turns /api/2/users/<uuid>/access_policies into the document's
// /users/{user_id}/access_policies.
func template(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/api/2")
	if !ok {
		return "", false
	}
	seg := strings.Split(rest, "/")
	for i := 1; i < len(seg); i++ {
		if len(seg[i]) == 36 && strings.Count(seg[i], "-") == 4 {
			seg[i] = "{" + strings.TrimSuffix(seg[i-1], "s") + "_id}"
		}
	}
	return strings.Join(seg, "/"), true
}

func (c *specCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	tmpl, ok := template(r.URL.Path)
	if err != nil || !ok || tmpl == "/idp/token" {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	violations, cerr := c.spec.CheckResponse(r.Method, tmpl, resp.StatusCode, body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cerr != nil && resp.StatusCode < 400 { // undocumented error statuses (1004's 409, injected 5xx) are checked elsewhere
		c.errs = append(c.errs, cerr.Error())
	}
	for _, v := range violations {
		c.errs = append(c.errs, fmt.Sprintf("%s %s -> %d: %s", r.Method, tmpl, resp.StatusCode, v))
	}
	return resp, nil
}
