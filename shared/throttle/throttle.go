// Package throttle paces outgoing HTTP requests with a token bucket shared by
// every goroutine of a job, and slows the whole job down when the server
// answers 429: everyone pauses for Retry-After and the rate drops, then climbs
// back while answers are good. Retries by an outer retrying transport pass
// through it too, so a burst of retries cannot become a request storm.
package throttle

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"golang.org/x/time/rate"
)

// Transport is an http.RoundTripper; use it as the innermost transport.
type Transport struct {
	// MaxPause caps the pause after a 429 (default: a minute; tests shorten it).
	MaxPause time.Duration

	next http.RoundTripper
	lim  *rate.Limiter
	max  rate.Limit
	min  rate.Limit
	now  func() time.Time

	strict bool // burst 1: also keep actual departures 1/rate apart

	spaceMu  sync.Mutex
	lastSent time.Time

	mu          sync.Mutex
	pausedUntil time.Time
	good        int
	throttled   int
}

// DefaultPause is how long everyone waits after a 429 without Retry-After.
const DefaultPause = time.Second

// New paces requests to at most rps per second with the given burst (>= 1).
// next nil means httpretry.DefaultBase (connect, TLS and header timeouts)
// tuned for one busy host.
func New(next http.RoundTripper, rps float64, burst int) *Transport {
	if next == nil {
		tr := httpretry.DefaultBase()
		// Workers share a host: keep their connections instead of redialling.
		tr.MaxIdleConnsPerHost = 64
		next = tr
	}
	if burst < 1 {
		burst = 1
	}
	max := rate.Limit(rps)
	return &Transport{next: next, lim: rate.NewLimiter(max, burst), max: max, min: max / 8, now: time.Now, strict: burst == 1}
}

// Limit is the current pace in requests per second.
func (t *Transport) Limit() float64 { return float64(t.lim.Limit()) }

// RoundTrip waits for any pause and for a token, then sends.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	t.mu.Lock()
	wait := t.pausedUntil.Sub(t.now())
	t.mu.Unlock()
	if wait > 0 {
		if err := httpretry.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	if err := t.lim.Wait(ctx); err != nil {
		return nil, err
	}
	if t.strict {
		if err := t.space(ctx); err != nil {
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	t.observe(resp)
	return resp, nil
}

// space keeps the actual departures at least 1/rate apart. The token bucket
// schedules against ideal times, so one goroutine woken late would leave the
// next gap short; a server whose limit has burst 1 answers that with a 429.
func (t *Transport) space(ctx context.Context) error {
	t.spaceMu.Lock()
	defer t.spaceMu.Unlock()
	gap := time.Duration(float64(time.Second) / float64(t.lim.Limit()))
	if wait := t.lastSent.Add(gap).Sub(time.Now()); wait > 0 {
		if err := httpretry.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	t.lastSent = time.Now()
	return nil
}

func (t *Transport) observe(resp *http.Response) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if resp.StatusCode != http.StatusTooManyRequests {
		// Additive recovery: a few percent after every 20 good answers.
		t.good++
		if cur := t.lim.Limit(); t.good >= 20 && cur < t.max {
			t.good = 0
			t.lim.SetLimit(min(t.max, cur*1.05))
		}
		return
	}
	t.throttled++
	t.good = 0
	pause := RetryAfter(resp.Header.Get("Retry-After"), t.now())
	if pause <= 0 {
		pause = DefaultPause
	}
	if t.MaxPause > 0 {
		pause = min(pause, t.MaxPause)
	}
	if until := t.now().Add(pause); until.After(t.pausedUntil) {
		t.pausedUntil = until
	}
	// Multiplicative decrease, not below an eighth of the configured rate.
	t.lim.SetLimit(max(t.min, t.lim.Limit()*0.8))
}

// RetryAfter reads a Retry-After value: seconds or an HTTP date. It returns 0
// when absent or unreadable and caps the wait at a minute.
func RetryAfter(v string, now time.Time) time.Duration {
	d, _ := httpretry.RetryAfter(v, now) // 0 when absent or unreadable
	return min(d, time.Minute)
}
