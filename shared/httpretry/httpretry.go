// Package httpretry is an http.RoundTripper that retries what is safe to
// retry: 429 always (the server did not act on the request), and 5xx, 408 and
// connection failures only for idempotent methods. It waits with jittered
// exponential backoff, honours Retry-After (seconds or HTTP date), and never
// sleeps past the request context's deadline (the Lambda deadline).
//
// It also drops credentials from a redirected request that leaves the origin
// (scheme, host or port) of the first one: net/http keeps Authorization on a
// same-host redirect, https->http included, and keeps headers it does not
// know, such as Huawei's X-Auth-Token, on every redirect.
package httpretry

import (
	"cmp"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Policy bounds the retries.
type Policy struct {
	MaxAttempts int           // total attempts, first included; default 5
	BaseDelay   time.Duration // first backoff; default 200ms
	MaxDelay    time.Duration // cap on one wait, Retry-After included; default 30s
	// OnRetry, when set, is told about each retry (for logs and metrics).
	OnRetry func(req *http.Request, attempt int, status int, err error, wait time.Duration)
	// Sleep waits for d or until ctx ends; tests replace it. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.Sleep == nil {
		p.Sleep = Sleep
	}
	return p
}

// NewTransport wraps base (nil: DefaultBase()).
func NewTransport(base http.RoundTripper, p Policy) http.RoundTripper {
	if base == nil {
		base = DefaultBase()
	}
	return &transport{base: base, p: p.withDefaults()}
}

// DefaultBase is http.DefaultTransport with a 10 s connect timeout and a 60 s
// response-header timeout, which it lacks: a server that accepts and then
// says nothing would otherwise hold a call until its context ends.
func DefaultBase() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 60 * time.Second
	return tr
}

type transport struct {
	base http.RoundTripper
	p    Policy
}

// ErrBodyNotRewindable is returned when a retry is due but the request body
// cannot be sent again (no GetBody).
var ErrBodyNotRewindable = errors.New("httpretry: request body cannot be rewound for a retry")

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = stripCredentialsOffOrigin(req)
	ctx := req.Context()
	idempotent := IsIdempotent(req)
	b := budgetOf(ctx)
	for attempt := 1; ; attempt++ {
		b.spend(t.p.MaxAttempts)
		r := req
		if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, ErrBodyNotRewindable
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.base.RoundTrip(r)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if !shouldRetry(status, err, idempotent) || attempt >= t.p.MaxAttempts || b.exhausted() || ctx.Err() != nil {
			return resp, err
		}
		wait := t.backoff(attempt)
		if resp != nil {
			if ra, ok := RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				wait = ra
			}
		}
		wait = min(wait, t.p.MaxDelay)
		// A wait that would outlive the deadline only burns the caller's time:
		// hand back what we have so the caller can report it.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return resp, err
		}
		if resp != nil {
			// Drain a little so the connection can be reused, then drop it.
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
		}
		if t.p.OnRetry != nil {
			t.p.OnRetry(req, attempt, status, err, wait)
		}
		if serr := t.p.Sleep(ctx, wait); serr != nil {
			if err == nil {
				err = serr
			}
			return nil, err
		}
	}
}

// credentialHeaders are dropped from a redirect that leaves the origin.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Auth-Token"}

// stripCredentialsOffOrigin returns req without credential headers when it is
// a redirect (req.Response is set only then) to another origin than the first
// request of the chain: the credentials were meant for that origin only.
func stripCredentialsOffOrigin(req *http.Request) *http.Request {
	if req.Response == nil || req.Response.Request == nil {
		return req
	}
	first := req.Response.Request
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if origin(first.URL) == origin(req.URL) {
		return req
	}
	var r *http.Request
	for _, h := range credentialHeaders {
		if _, ok := req.Header[h]; ok {
			if r == nil {
				r = req.Clone(req.Context()) // a RoundTripper must not change req
			}
			r.Header.Del(h)
		}
	}
	if r == nil {
		return req
	}
	return r
}

// origin is scheme://host:port with the default port made explicit.
func origin(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	port = cmp.Or(port, map[string]string{"http": "80", "https": "443"}[scheme])
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// backoff is full-jitter exponential: uniform in [d/2, d) with d = base*2^(n-1).
func (t *transport) backoff(attempt int) time.Duration {
	d := t.p.BaseDelay << min(attempt-1, 20)
	if d <= 0 || d > t.p.MaxDelay {
		d = t.p.MaxDelay
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func shouldRetry(status int, err error, idempotent bool) bool {
	if err != nil {
		// A cancelled or expired request context is the caller's decision,
		// and RoundTrip stops on it before asking here. A timeout error
		// with the context still live is the base transport's own (a
		// response-header timeout: the server held the request open): a
		// fault like any other.
		return idempotent
	}
	switch {
	case status == http.StatusTooManyRequests:
		return true
	case status == http.StatusRequestTimeout, status >= 500 && status != http.StatusNotImplemented:
		return idempotent
	}
	return false
}

// Budget is the number of attempts one logical call may make, shared by every
// request made with its context: the transport's retries, and an outer
// layer's own sending again (after a cut-off answer, a fresh token) all draw
// from it, so the layers add up to MaxAttempts instead of multiplying. Its
// size is the MaxAttempts of the first transport that draws from it.
type Budget struct {
	mu         sync.Mutex
	max, spent int
}

type budgetKey struct{}

// WithBudget returns ctx with a fresh Budget: call it once per logical call,
// outside any loop that sends it again (not once per job: the whole job
// would share one call's attempts).
func WithBudget(ctx context.Context) context.Context {
	return context.WithValue(ctx, budgetKey{}, &Budget{})
}

// SharedBudget returns ctx unchanged when it carries a Budget, else
// WithBudget(ctx): a call joins the budget of a caller that loops around it.
func SharedBudget(ctx context.Context) context.Context {
	if budgetOf(ctx) != nil {
		return ctx
	}
	return WithBudget(ctx)
}

// Exhausted reports whether ctx carries a Budget with no attempt left: an
// outer layer must not send the call again.
func Exhausted(ctx context.Context) bool { return budgetOf(ctx).exhausted() }

func budgetOf(ctx context.Context) *Budget {
	b, _ := ctx.Value(budgetKey{}).(*Budget)
	return b
}

// spend records one attempt; the first spender sets the size. A nil Budget
// (a context without one) records nothing.
func (b *Budget) spend(max int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max == 0 {
		b.max = max
	}
	b.spent++
}

func (b *Budget) exhausted() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.max > 0 && b.spent >= b.max
}

type idempotentKey struct{}

// Idempotent marks requests made with the returned context as safe to repeat
// although their method is not (a POST that mints a token, a search).
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// IsIdempotent follows RFC 9110: GET, HEAD, OPTIONS, TRACE, PUT and DELETE,
// plus requests marked with Idempotent or carrying an Idempotency-Key.
func IsIdempotent(req *http.Request) bool {
	if v, _ := req.Context().Value(idempotentKey{}).(bool); v {
		return true
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// RetryAfter parses a Retry-After value: delay-seconds or an HTTP date.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		secs = min(secs, 1<<30) // far beyond any MaxDelay; avoids Duration overflow
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Sleep waits d or until ctx is done, whichever comes first, and returns
// ctx's error when that came first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
