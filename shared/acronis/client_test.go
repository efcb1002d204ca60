package acronis_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
)

// fastRetry keeps retries real but short: Retry-After is capped at MaxDelay.
var fastRetry = httpretry.Policy{MaxAttempts: 8, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func newClient(t testing.TB, sim *acronistest.Server) (*acronis.Client, *acronis.CachedSource) {
	t.Helper()
	id, secret := sim.AddAPIClient("")
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{Retry: fastRetry})
	src := acronis.NewCachedSource(&acronis.ClientCredentials{
		Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: id, ClientSecret: secret}, HTTP: hc,
	}, 0)
	c, err := acronis.NewClient(sim.URL(), src, hc)
	if err != nil {
		t.Fatal(err)
	}
	return c, src
}

func TestTokenExpiryFields(t *testing.T) {
	for _, field := range []string{"expires_on", "expires_in", "jwt"} {
		t.Run(field, func(t *testing.T) {
			sim := acronistest.NewServer(t, acronistest.Config{TokenExpiryField: field, TokenTTL: time.Hour})
			id, secret := sim.AddAPIClient("")
			cc := &acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: id, ClientSecret: secret}, HTTP: http.DefaultClient}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Until(tok.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
				t.Fatalf("expiry in %v, want about 1h", d)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{})
	id, _ := sim.AddAPIClient("")
	tests := []struct {
		name, base, id, secret string
		wantStatus             int
		wantCode               string
	}{
		{"bad secret", sim.URL(), id, "wrong", 401, "access_denied"},
		{"unknown client", sim.URL(), "nobody", "wrong", 401, "access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := &acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: tt.base, ClientID: tt.id, ClientSecret: tt.secret}, HTTP: http.DefaultClient}
			_, err := cc.Token(context.Background())
			var ae *acronis.APIError
			if !errors.As(err, &ae) || ae.Status != tt.wantStatus || ae.Code != tt.wantCode {
				t.Fatalf("err %v, want %d %s", err, tt.wantStatus, tt.wantCode)
			}
			if strings.Contains(err.Error(), tt.secret) {
				t.Fatal("error leaks the secret")
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		cc := &acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: "http://127.0.0.1:1", ClientID: "id", ClientSecret: "topsecret"}, HTTP: http.DefaultClient}
		_, err := cc.Token(context.Background())
		if err == nil || !strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "topsecret") {
			t.Fatalf("err %v", err)
		}
	})
}

// 100 concurrent callers share one token request.
func TestCachedSourceSharesOneRefresh(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Faults: acronistest.Faults{Latency: 20 * time.Millisecond}})
	_, src := newClient(t, sim)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := src.Token(context.Background()); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := sim.CountRequests("POST", acronis.TokenPath); n != 1 || failed.Load() != 0 {
		t.Fatalf("%d token requests, %d failures; want 1 and 0", n, failed.Load())
	}
}

func TestCachedSourceRefreshesBeforeExpiry(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{TokenTTL: 2 * time.Hour})
	_, src := newClient(t, sim)
	now := time.Now()
	src.SetClock(func() time.Time { return now })
	ctx := context.Background()
	tests := []struct {
		advance   time.Duration
		wantCalls int
	}{
		{0, 1},                // first use mints
		{80 * time.Minute, 1}, // 40 min left, margin 30: cached
		{11 * time.Minute, 2}, // 29 min left: refreshed early
	}
	for _, tt := range tests {
		now = now.Add(tt.advance)
		if _, err := src.Token(ctx); err != nil {
			t.Fatal(err)
		}
		if n := sim.CountRequests("POST", acronis.TokenPath); n != tt.wantCalls {
			t.Fatalf("after +%v: %d token requests, want %d", tt.advance, n, tt.wantCalls)
		}
	}
}

// A token the server stops accepting is refreshed once and the call retried.
func TestRefreshOnceOn401(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{})
	c, _ := newClient(t, sim)
	ctx := context.Background()
	if _, err := c.GetTenant(ctx, sim.RootTenantID()); err != nil {
		t.Fatal(err)
	}
	sim.ExpireTokens()
	if _, err := c.GetTenant(ctx, sim.RootTenantID()); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := sim.CountRequests("POST", acronis.TokenPath); n != 2 {
		t.Fatalf("%d token requests, want 2", n)
	}
}

// A token source that hands out a token the server never accepts: one retry, then the 401.
type staticSource struct{ calls atomic.Int32 }

func (s *staticSource) Token(context.Context) (acronis.Token, error) {
	s.calls.Add(1)
	return acronis.Token{AccessToken: "forged", ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func TestPersistent401IsReturned(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{})
	src := &staticSource{}
	c, _ := acronis.NewClient(sim.URL(), src, http.DefaultClient)
	_, err := c.GetTenant(context.Background(), sim.RootTenantID())
	if !acronis.HasStatus(err, 401) || src.calls.Load() != 2 {
		t.Fatalf("err %v after %d token calls; want 401 after 2", err, src.calls.Load())
	}
}

func TestTenantLifecycle(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{})
	c, _ := newClient(t, sim)
	ctx := context.Background()
	root := sim.RootTenantID()
	p, err := c.CreateTenant(ctx, acronis.TenantPost{Name: "Partner A", ParentID: root, Kind: acronis.KindPartner})
	if err != nil {
		t.Fatal(err)
	}
	cust, err := c.CreateTenant(ctx, acronis.TenantPost{Name: "Cust A", ParentID: p.ID, Kind: acronis.KindCustomer, CustomerID: "CRM-1"})
	if err != nil || cust.CustomerID == nil || *cust.CustomerID != "CRM-1" || cust.PricingMode != "trial" {
		t.Fatalf("create customer: %+v %v", cust, err)
	}
	off := false
	tests := []struct {
		name     string
		call     func() error
		wantCode string
		status   int
	}{
		{"name clash", func() error {
			_, err := c.CreateTenant(ctx, acronis.TenantPost{Name: "cust a", ParentID: p.ID, Kind: acronis.KindCustomer})
			return err
		}, acronis.CodeTenantNameConflict, 409},
		{"customer under customer", func() error {
			_, err := c.CreateTenant(ctx, acronis.TenantPost{Name: "X", ParentID: cust.ID, Kind: acronis.KindCustomer})
			return err
		}, "BadRequest", 400},
		{"stale version", func() error {
			_, err := c.UpdateTenant(ctx, cust.ID, acronis.TenantPut{Version: cust.Version + 5, Enabled: &off})
			return err
		}, acronis.CodeVersionMismatch, 409},
		{"delete enabled", func() error { return c.DeleteTenant(ctx, cust.ID, cust.Version) }, codeDeleteNotDisabled, 409},
		{"unknown tenant", func() error {
			_, err := c.GetTenant(ctx, "00000000-0000-4000-8000-000000000000")
			return err
		}, "NotFound", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !acronis.HasCode(err, tt.wantCode) || !acronis.HasStatus(err, tt.status) {
				t.Fatalf("err %v, want %d %s", err, tt.status, tt.wantCode)
			}
		})
	}
	upd, err := c.UpdateTenant(ctx, cust.ID, acronis.TenantPut{Version: cust.Version, Enabled: &off})
	if err != nil || upd.Enabled || upd.Version != cust.Version+1 {
		t.Fatalf("disable: %+v %v", upd, err)
	}
	if err := c.DeleteTenant(ctx, cust.ID, upd.Version); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.GetTenant(ctx, cust.ID); !acronis.HasStatus(err, 404) {
		t.Fatalf("deleted tenant still readable: %v", err)
	}
}

func TestSimulatorRejects(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{})
	_, src := newClient(t, sim)
	tok, _ := src.Token(context.Background())
	tests := []struct {
		name, method, path, ctype, auth, body string
		want                                  int
		contract                              bool // refused by the simulator's document check
	}{
		{"no token", "GET", "/api/2/tenants/" + sim.RootTenantID(), "", "", "", 401, false},
		{"bad token", "GET", "/api/2/tenants/" + sim.RootTenantID(), "", "Bearer nope", "", 401, false},
		{"wrong content type", "POST", "/api/2/tenants", "text/plain", "Bearer " + tok.AccessToken, `{}`, 415, true},
		{"bad body", "POST", "/api/2/tenants", "application/json", "Bearer " + tok.AccessToken, `{"name":`, 400, true},
		{"unknown field", "POST", "/api/2/tenants", "application/json", "Bearer " + tok.AccessToken, `{"name":"a","parent_id":"` + sim.RootTenantID() + `","kind":"partner","colour":"red"}`, 400, true},
		{"missing version", "PUT", "/api/2/tenants/" + sim.RootTenantID(), "application/json", "Bearer " + tok.AccessToken, `{"enabled":false}`, 400, true},
		{"no filter", "GET", "/api/2/tenants", "", "Bearer " + tok.AccessToken, "", 400, false},
		{"bad limit", "GET", "/api/2/tenants?parent_id=" + sim.RootTenantID() + "&limit=0", "", "Bearer " + tok.AccessToken, "", 400, true},
		{"bad cursor", "GET", "/api/2/tenants?after=zzz", "", "Bearer " + tok.AccessToken, "", 400, false},
		{"token wrong content type", "POST", acronis.TokenPath, "application/json", "", `{}`, 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.contract {
				sim.ExpectRejected(tt.method, strings.Split(tt.path, "?")[0])
			}
			req, _ := http.NewRequest(tt.method, sim.URL()+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func walk(t *testing.T, c *acronis.Client, root string, limit int) map[string]string {
	t.Helper()
	got := map[string]string{}
	for page, err := range c.ListTenants(context.Background(), acronis.TenantFilter{SubtreeRootID: root, Limit: limit}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range page {
			if _, dup := got[tn.ID]; dup {
				t.Fatalf("tenant %s twice", tn.ID)
			}
			got[tn.ID] = tn.Name
		}
	}
	return got
}

// Every cursor is followed; later pages carry only limit and after.
func TestListTenantsFollowsEveryCursor(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{PageCap: 50})
	ids := sim.GenerateTree(3, 20, 3) // 3*(1+20*4) = 243
	c, _ := newClient(t, sim)
	sim.ResetLog()
	got := walk(t, c, sim.RootTenantID(), 1000)
	if len(got) != len(ids)+1 {
		t.Fatalf("walked %d tenants, want %d", len(got), len(ids)+1)
	}
	var pages int
	for _, r := range sim.Requests() {
		if r.Path != "/api/2/tenants" {
			continue
		}
		pages++
		q, _ := url.ParseQuery(r.Query)
		if pages > 1 && (q.Get("after") == "" || q.Has("subtree_root_id") || len(q) != 2) {
			t.Fatalf("page %d query %q: want only limit and after", pages, r.Query)
		}
	}
	if want := (len(ids) + 1 + 49) / 50; pages != want {
		t.Fatalf("%d pages, want %d", pages, want)
	}
}

// With 429s, 5xx and dropped connections the walk returns the same tenants.
func TestListTenantsUnderFaults(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{PageCap: 5, Seed: 7})
	sim.GenerateTree(2, 30, 2)
	c, _ := newClient(t, sim)
	clean := walk(t, c, sim.RootTenantID(), 0)
	sim.SetFaults(acronistest.Faults{Rate429: 0.15, Rate5xx: 0.15, RateDrop: 0.1, RateCut: 0.1, SkipTokenEP: true})
	sim.ResetLog()
	faulty := walk(t, c, sim.RootTenantID(), 0)
	if len(faulty) != len(clean) {
		t.Fatalf("%d tenants under faults, %d without", len(faulty), len(clean))
	}
	for id, name := range clean {
		if faulty[id] != name {
			t.Fatalf("tenant %s differs", id)
		}
	}
	faults, cuts := 0, 0
	for _, r := range sim.Requests() {
		if r.Status != 200 {
			faults++
		}
		if r.Status == acronistest.StatusCut {
			cuts++
		}
	}
	if faults == 0 || cuts == 0 {
		t.Fatalf("%d faults, %d cut answers: the test proves nothing", faults, cuts)
	}
}

func TestListTenantsRejectsBadFilter(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{})
	c, _ := newClient(t, sim)
	many := make([]string, 101)
	for i := range many {
		many[i] = sim.RootTenantID()
	}
	for _, f := range []acronis.TenantFilter{{}, {ParentID: "a", SubtreeRootID: "b"}, {UUIDs: many}} {
		for _, err := range c.ListTenants(context.Background(), f) {
			if err == nil {
				t.Fatalf("filter %+v accepted", f)
			}
		}
	}
}

func TestUserAgentSent(t *testing.T) {
	var got atomic.Value
	sim := acronistest.NewServer(t, acronistest.Config{})
	c, _ := newClient(t, sim)
	base := acronis.NewHTTPClient(acronis.HTTPOptions{Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got.Store(r.Header.Get("User-Agent"))
		return http.DefaultTransport.RoundTrip(r)
	})})
	c2, _ := acronis.NewClient(sim.URL(), staticOK{c}, base)
	_, _ = c2.GetTenant(context.Background(), sim.RootTenantID())
	if ua, _ := got.Load().(string); !strings.HasPrefix(ua, "acp-serverless/") {
		t.Fatalf("User-Agent %q", ua)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type staticOK struct{ c *acronis.Client }

func (staticOK) Token(context.Context) (acronis.Token, error) {
	return acronis.Token{AccessToken: "x", ExpiresAt: time.Now().Add(time.Hour)}, nil
}

// blockingSource mints after release, or fails when its context ends.
type blockingSource struct {
	started, release chan struct{}
	calls            atomic.Int32
}

func (b *blockingSource) Token(ctx context.Context) (acronis.Token, error) {
	if b.calls.Add(1) == 1 {
		close(b.started)
	}
	select {
	case <-b.release:
		return acronis.Token{AccessToken: "fresh", ExpiresAt: time.Now().Add(2 * time.Hour)}, nil
	case <-ctx.Done():
		return acronis.Token{}, ctx.Err()
	}
}

// A caller that gives up returns at once; the shared refresh goes on for the
// others, and there is one refresh. A refresh nobody releases ends at the
// source's own timeout, not never.
func TestCachedSourceRefreshOutlivesCancelledCaller(t *testing.T) {
	b := &blockingSource{started: make(chan struct{}), release: make(chan struct{})}
	src := acronis.NewCachedSource(b, 0)
	first, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() { _, err := src.Token(first); firstErr <- err }()
	<-b.started
	second := make(chan acronis.Token, 1)
	go func() { tok, _ := src.Token(context.Background()); second <- tok }()
	time.Sleep(20 * time.Millisecond) // let the second caller join
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: err %v, want context.Canceled", err)
	}
	close(b.release)
	if tok := <-second; tok.AccessToken != "fresh" || b.calls.Load() != 1 {
		t.Fatalf("second caller got %v after %d refreshes; want the fresh token after 1", tok, b.calls.Load())
	}

	stuck := &blockingSource{started: make(chan struct{}), release: make(chan struct{})}
	src = acronis.NewCachedSource(stuck, 0)
	src.SetRefreshTimeout(30 * time.Millisecond)
	if _, err := src.Token(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stuck refresh: err %v, want its own deadline", err)
	}
}

// Neither the bearer of an API call nor the Basic credentials of a token
// request follow a redirect off the data centre's origin; Go's default keeps
// both on a same-host https->http hop.
func TestCredentialsDoNotFollowRedirectOffOrigin(t *testing.T) {
	leaked := make(chan string, 4)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"t","token_type":"bearer","expires_in":3600,"id":"x"}`))
	}))
	defer plain.Close()
	var target string
	dc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer dc.Close()
	localhost := strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{Base: dc.Client().Transport})
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"API call", func(ctx context.Context) error {
			c, _ := acronis.NewClient(dc.URL, staticOK{}, hc)
			return c.Do(ctx, acronis.Request{Method: "GET", Path: "/api/2/tenants/x"}, nil)
		}},
		{"token request", func(ctx context.Context) error {
			cc := &acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: dc.URL, ClientID: "id", ClientSecret: "secret"}, HTTP: hc}
			_, err := cc.Token(ctx)
			return err
		}},
	}
	for _, to := range []struct{ name, url string }{{"https to http, same host", plain.URL}, {"another host", localhost}} {
		for _, tt := range calls {
			t.Run(to.name+"/"+tt.name, func(t *testing.T) {
				target = to.url
				if err := tt.call(context.Background()); err != nil {
					t.Fatal(err)
				}
				if got := <-leaked; got != "" {
					t.Fatalf("the redirect target got Authorization %q", got)
				}
			})
		}
	}
}

// failingServer answers the token endpoint (unless tokenFails) and fails
// every other request the way fail says, counting both.
type failingServer struct {
	fail       func(n int) string // n counts failing-path requests from 1
	tokenFails bool
	api, token atomic.Int32
}

func (f *failingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == acronis.TokenPath && !f.tokenFails {
		f.token.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"t","token_type":"bearer","expires_in":7200}`))
		return
	}
	var n int
	if r.URL.Path == acronis.TokenPath {
		n = int(f.token.Add(1))
	} else {
		n = int(f.api.Add(1))
	}
	switch mode := f.fail(n); mode {
	case "503", "429", "401":
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":{"code":"x","message":"failing"}}`, map[string]int{"503": 503, "429": 429, "401": 401}[mode])
	case "drop", "cut":
		conn, buf, _ := w.(http.Hijacker).Hijack()
		if mode == "cut" { // the headers, then a tenth of the promised body
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":\"x")
			_ = buf.Flush()
		}
		conn.Close()
	}
}

func always(mode string) func(int) string { return func(int) string { return mode } }

// worst-case requests for a call that keeps failing: the transport, the 401
// retry and the cut-answer retry share one budget (MaxAttempts = 5), so the
// layers add up instead of multiplying. The README's table is this one.
func TestWorstCaseRequests(t *testing.T) {
	get := func(ctx context.Context, c *acronis.Client, _ acronis.TokenSource) error {
		return c.Do(ctx, acronis.Request{Method: "GET", Path: "/api/2/tenants/x"}, new(json.RawMessage))
	}
	post := func(ctx context.Context, c *acronis.Client, _ acronis.TokenSource) error {
		return c.Do(ctx, acronis.Request{Method: "POST", Path: "/api/2/tenants", Body: map[string]string{"name": "n"}}, new(json.RawMessage))
	}
	stream := func(ctx context.Context, c *acronis.Client, _ acronis.TokenSource) error {
		resp, err := c.Stream(ctx, acronis.Request{Method: "GET", Path: "/api/2/reports/r/stored/s"})
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return err
	}
	batch := func(ctx context.Context, c *acronis.Client, _ acronis.TokenSource) error {
		_, err := c.UsagesBatch(ctx, []string{"3f2b6c1e-8d4a-4c2f-9b1e-5a7d9c0e1f23"})
		return err
	}
	mint := func(ctx context.Context, _ *acronis.Client, src acronis.TokenSource) error {
		_, err := src.Token(ctx)
		return err
	}
	// 503 four times, then an answer cut off: each send of the call would
	// spend a whole transport budget if the layers multiplied (15 requests).
	mixed := func(n int) string { return map[bool]string{true: "cut", false: "503"}[n%5 == 0] }
	tests := []struct {
		name       string
		call       func(context.Context, *acronis.Client, acronis.TokenSource) error
		fail       func(int) string
		tokenFails bool
		api, token int32
	}{
		{"GET, 503", get, always("503"), false, 5, 1},
		{"GET, 429", get, always("429"), false, 5, 1},
		// net/http itself sends a GET again once when a reused keep-alive
		// connection closes before any answer: one more than the budget.
		{"GET, connection dropped", get, always("drop"), false, 6, 1},
		{"GET, answer cut off", get, always("cut"), false, 3, 1},
		{"GET, 401", get, always("401"), false, 2, 2},
		{"GET, 503 x4 then cut, repeating", get, mixed, false, 5, 1},
		{"POST, 503", post, always("503"), false, 1, 1},
		{"POST, 429", post, always("429"), false, 5, 1},
		{"POST, connection dropped", post, always("drop"), false, 1, 1},
		{"POST, answer cut off", post, always("cut"), false, 1, 1},
		{"POST, 401", post, always("401"), false, 2, 2},
		{"download (Stream), 503", stream, always("503"), false, 5, 1},
		{"download (Stream), 429", stream, always("429"), false, 5, 1},
		{"download (Stream), connection dropped", stream, always("drop"), false, 6, 1},
		{"download (Stream), answer cut off", stream, always("cut"), false, 1, 1},
		// The usage batch streams its answer and sends again when it is cut:
		// that loop joins the transport's budget instead of multiplying it.
		{"usage batch, 503 x4 then cut, repeating", batch, mixed, false, 5, 1},
		{"usage batch, answer cut off", batch, always("cut"), false, 3, 1},
		{"token, 503", mint, always("503"), true, 0, 5},
		{"token, 429", mint, always("429"), true, 0, 5},
		{"token, connection dropped", mint, always("drop"), true, 0, 5},
		{"token, answer cut off", mint, always("cut"), true, 0, 3},
		{"token, 401", mint, always("401"), true, 0, 1},
		{"token, 503 x4 then cut, repeating", mint, mixed, true, 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &failingServer{fail: tt.fail, tokenFails: tt.tokenFails}
			srv := httptest.NewServer(f)
			defer srv.Close()
			hc := acronis.NewHTTPClient(acronis.HTTPOptions{Retry: httpretry.Policy{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}})
			src := acronis.NewCachedSource(&acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: srv.URL, ClientID: "id", ClientSecret: "s"}, HTTP: hc}, 0)
			c, _ := acronis.NewClient(srv.URL, src, hc)
			if err := tt.call(context.Background(), c, src); err == nil {
				t.Fatal("a call against a failing server succeeded")
			}
			api, token := f.api.Load(), f.token.Load()
			// The resend above happens only when the dropped connection was
			// a reused one: the worst case is the bound, one less is fine.
			lenient := tt.api == 6 && api == 5
			if api != tt.api && !lenient || token != tt.token {
				t.Fatalf("%d API and %d token requests, want %d and %d", api, token, tt.api, tt.token)
			}
		})
	}
}

// A server that is slow to answer, or slow to finish an answer, ends the call
// at the configured timeout instead of holding it to the Lambda deadline.
func TestHTTPTimeouts(t *testing.T) {
	slow := func(beforeHeaders bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			pause := func() {
				select {
				case <-time.After(2 * time.Second):
				case <-r.Context().Done():
				}
			}
			if beforeHeaders {
				pause()
			}
			w.Header().Set("Content-Length", "20")
			_, _ = w.Write([]byte(`{"id":`))
			w.(http.Flusher).Flush()
			pause()
			_, _ = w.Write([]byte(`"x"}              `))
		}
	}
	once := httpretry.Policy{MaxAttempts: 1}
	tests := []struct {
		name          string
		beforeHeaders bool
		opts          acronis.HTTPOptions
	}{
		{"response header timeout", true, acronis.HTTPOptions{Retry: once, ResponseHeaderTimeout: 50 * time.Millisecond}},
		{"total timeout while the answer streams", false, acronis.HTTPOptions{Retry: once, Timeout: 100 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(slow(tt.beforeHeaders))
			defer srv.Close()
			c, _ := acronis.NewClient(srv.URL, staticOK{}, acronis.NewHTTPClient(tt.opts))
			start := time.Now()
			err := c.Do(context.Background(), acronis.Request{Method: "GET", Path: "/api/2/tenants/x"}, new(json.RawMessage))
			if err == nil || time.Since(start) > time.Second {
				t.Fatalf("err %v after %v; want a timeout well before the server's 2s", err, time.Since(start))
			}
		})
	}
}

// codeDeleteNotDisabled is the account server's "tenant must be disabled
// before deletion" (the jobs never delete an enabled tenant).
const codeDeleteNotDisabled = "1006"

// A Request's method, path, query, body and extra headers reach the wire as
// given; Do asks for JSON and Stream leaves Accept to the caller.
func TestRequestOnTheWire(t *testing.T) {
	type seen struct{ method, uri, accept, rng, ctype, body string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), r.Header.Get("Accept"), r.Header.Get("Range"), r.Header.Get("Content-Type"), string(b)}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c, err := acronis.NewClient(srv.URL, staticOK{}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want seen
	}{
		{"Do GET with query", func() error {
			return c.Do(ctx, acronis.Request{Method: "GET", Path: "/api/2/tenants", Query: url.Values{"uuids": {"a,b"}}}, new(json.RawMessage))
		}, seen{"GET", "/api/2/tenants?uuids=a%2Cb", "application/json", "", "", ""}},
		{"Do PUT with body and header", func() error {
			return c.Do(ctx, acronis.Request{Method: "PUT", Path: "/api/2/tenants/x", Body: map[string]int{"version": 2},
				Header: http.Header{"Range": {"bytes=0-"}}}, nil)
		}, seen{"PUT", "/api/2/tenants/x", "application/json", "bytes=0-", "application/json", `{"version":2}`}},
		{"Stream with Range", func() error {
			resp, err := c.Stream(ctx, acronis.Request{Method: "GET", Path: "/api/2/reports/r/stored/s", Header: http.Header{"Range": {"bytes=5-"}}})
			if err == nil {
				resp.Body.Close()
			}
			return err
		}, seen{"GET", "/api/2/reports/r/stored/s", "", "bytes=5-", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			if s := <-got; s != tt.want {
				t.Fatalf("on the wire %+v, want %+v", s, tt.want)
			}
		})
	}
}
