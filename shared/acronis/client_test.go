package acronis_test

import (
	"context"
	"errors"
	"net/http"
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
		{"delete enabled", func() error { return c.DeleteTenant(ctx, cust.ID, cust.Version) }, acronis.CodeDeleteNotDisabled, 409},
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
