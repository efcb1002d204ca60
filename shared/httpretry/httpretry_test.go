package httpretry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name         string
		method       string
		statuses     []int // answers in order; the last repeats
		retryAfter   string
		wantAttempts int
		wantStatus   int
		wantWait     time.Duration // first wait, when exact (Retry-After)
	}{
		{"200 once", "GET", []int{200}, "", 1, 200, 0},
		{"429 then 200 on POST", "POST", []int{429, 200}, "", 2, 200, 0},
		{"429 honours Retry-After seconds", "POST", []int{429, 200}, "3", 2, 200, 3 * time.Second},
		{"503 retried on GET", "GET", []int{503, 503, 200}, "", 3, 200, 0},
		{"503 not retried on POST", "POST", []int{503, 200}, "", 1, 503, 0},
		{"408 retried on PUT", "PUT", []int{408, 200}, "", 2, 200, 0},
		{"501 never retried", "GET", []int{501, 200}, "", 1, 501, 0},
		{"400 not retried", "GET", []int{400, 200}, "", 1, 400, 0},
		{"attempts bounded", "GET", []int{500}, "", 4, 500, 0},
		{"Retry-After capped", "GET", []int{429, 200}, "3600", 2, 200, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				body, _ := io.ReadAll(r.Body)
				if r.Method == "POST" && string(body) != "payload" {
					t.Errorf("attempt %d: body %q, want the original body again", i+1, body)
				}
				st := tt.statuses[min(i, len(tt.statuses)-1)]
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(st)
			}))
			defer srv.Close()
			var waits []time.Duration
			c := &http.Client{Transport: NewTransport(nil, Policy{
				MaxAttempts: 4, MaxDelay: 10 * time.Second,
				Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil },
			})}
			req, _ := http.NewRequest(tt.method, srv.URL, strings.NewReader("payload"))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || int(n.Load()) != tt.wantAttempts {
				t.Fatalf("status %d after %d attempts, want %d after %d", resp.StatusCode, n.Load(), tt.wantStatus, tt.wantAttempts)
			}
			if tt.wantWait != 0 && (len(waits) == 0 || waits[0] != tt.wantWait) {
				t.Fatalf("waits %v, want first %v", waits, tt.wantWait)
			}
		})
	}
}

func TestIdempotentMark(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	c := &http.Client{Transport: NewTransport(nil, Policy{Sleep: func(context.Context, time.Duration) error { return nil }})}
	req, _ := http.NewRequestWithContext(Idempotent(context.Background()), "POST", srv.URL, strings.NewReader("x"))
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("marked POST: %v after %d attempts, want 200 after 2", err, n.Load())
	}
	resp.Body.Close()
}

func TestDeadlineStopsRetrying(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c := &http.Client{Transport: NewTransport(nil, Policy{MaxAttempts: 10})}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || n.Load() != 1 || time.Since(start) > 900*time.Millisecond {
		t.Fatalf("got %d after %d attempts in %v; want the 429 back at once when Retry-After outlives the deadline", resp.StatusCode, n.Load(), time.Since(start))
	}
}

func TestConnectionErrors(t *testing.T) {
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					conn, _, _ := w.(http.Hijacker).Hijack()
					conn.Close()
					return
				}
				w.WriteHeader(200)
			}))
			defer srv.Close()
			tr := &http.Transport{DisableKeepAlives: true}
			c := &http.Client{Transport: NewTransport(tr, Policy{Sleep: func(context.Context, time.Duration) error { return nil }})}
			req, _ := http.NewRequest(method, srv.URL, nil)
			resp, err := c.Do(req)
			if method == "GET" {
				if err != nil || resp.StatusCode != 200 || n.Load() != 2 {
					t.Fatalf("GET: err %v after %d attempts, want a retried success", err, n.Load())
				}
				resp.Body.Close()
				return
			}
			if err == nil || n.Load() != 1 {
				t.Fatalf("POST: err %v after %d attempts, want the error with no retry", err, n.Load())
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"Sun, 22 Nov 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Sun, 22 Nov 2026 09:00:00 GMT", 0, true},
	}
	for _, tt := range tests {
		got, ok := RetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "-5", "Sun, 22 Nov 2026 10:00:30 GMT", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := RetryAfter(s, time.Now()); ok && d < 0 {
			t.Fatalf("negative wait %v for %q", d, s)
		}
	})
}

// Credentials follow a redirect only within the first request's origin.
// net/http alone keeps Authorization on a same-host redirect, https->http
// and another port included, and keeps X-Auth-Token on every redirect.
func TestRedirectDropsCredentialsOffOrigin(t *testing.T) {
	type seen struct{ auth, xauth, cookie string }
	got := make(chan seen, 1)
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("Authorization"), r.Header.Get("X-Auth-Token"), r.Header.Get("Cookie")}
	})
	plain := httptest.NewServer(record) // http://127.0.0.1:<port>
	defer plain.Close()
	var target string
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			record(w, r)
			return
		}
		http.Redirect(w, r, target, http.StatusFound)
	}))
	defer tlsSrv.Close()
	plainLocalhost := strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name, target string
		wantKept     bool
	}{
		{"same origin", tlsSrv.URL + "/same", true},
		{"https to http on the same host", plain.URL + "/x", false},
		{"another host name", plainLocalhost + "/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target = tt.target
			c := &http.Client{Transport: NewTransport(tlsSrv.Client().Transport, Policy{})}
			req, _ := http.NewRequest("GET", tlsSrv.URL+"/start", nil)
			req.Header.Set("Authorization", "Bearer secret")
			req.Header.Set("X-Auth-Token", "cbr-secret")
			req.Header.Set("Cookie", "s=secret")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			s := <-got
			kept := seen{"Bearer secret", "cbr-secret", "s=secret"}
			if tt.wantKept && s != kept || !tt.wantKept && s != (seen{}) {
				t.Fatalf("after the redirect the server saw %+v; want kept=%v", s, tt.wantKept)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct{ a, b string }{
		{"https://Example.com/x", "https://example.com:443/y"},
		{"http://example.com", "http://example.com:80"},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if origin(a) != origin(b) {
			t.Errorf("origin(%s)=%s, origin(%s)=%s; want equal", tt.a, origin(a), tt.b, origin(b))
		}
	}
	a, _ := url.Parse("https://example.com")
	b, _ := url.Parse("http://example.com")
	if origin(a) == origin(b) {
		t.Error("https and http share an origin")
	}
}

// Requests made with one budgeted context share MaxAttempts: a second send of
// a call whose first send spent the budget is not retried by the transport.
func TestBudgetIsSharedAcrossSends(t *testing.T) {
	tests := []struct {
		name      string
		ctx       func() context.Context
		sends     int
		wantTotal int32
		exhausted bool
	}{
		{"no budget: each send has its own", context.Background, 2, 8, false},
		{"one budget for both sends", func() context.Context { return WithBudget(context.Background()) }, 2, 5, true},
		{"SharedBudget joins the caller's", func() context.Context { return SharedBudget(WithBudget(context.Background())) }, 3, 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.WriteHeader(503)
			}))
			defer srv.Close()
			c := &http.Client{Transport: NewTransport(nil, Policy{MaxAttempts: 4,
				Sleep: func(context.Context, time.Duration) error { return nil }})}
			ctx := tt.ctx()
			for range tt.sends {
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if n.Load() != tt.wantTotal || Exhausted(ctx) != tt.exhausted {
				t.Fatalf("%d requests, exhausted %v; want %d, %v", n.Load(), Exhausted(ctx), tt.wantTotal, tt.exhausted)
			}
		})
	}
}

// http.DefaultTransport has no response-header timeout: a server that
// accepts and stays silent would hold a call to its deadline.
func TestDefaultBaseHasTimeouts(t *testing.T) {
	tr := DefaultBase()
	for name, d := range map[string]time.Duration{"TLS handshake": tr.TLSHandshakeTimeout, "response header": tr.ResponseHeaderTimeout} {
		if d <= 0 || d > time.Minute {
			t.Errorf("%s timeout %v, want a bound of at most a minute", name, d)
		}
	}
	if tr.DialContext == nil {
		t.Error("no dialer with a connect timeout")
	}
}

// A request the server holds open ends at the base transport's
// response-header timeout and is sent again while the caller's context is
// live; the caller's own deadline still ends the call.
func TestHeaderTimeoutIsSentAgain(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 { // the first request is held open
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.ResponseHeaderTimeout = 100 * time.Millisecond
	c := &http.Client{Transport: NewTransport(base, Policy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent || calls.Load() != 2 {
		t.Fatalf("%v %v after %d calls", resp, err, calls.Load())
	}
	resp.Body.Close()
}
