package throttle

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"2", 2 * time.Second},
		{"-3", 0},
		{"junk", 0},
		{"86400", time.Minute},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.in, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// A 429 pauses every caller for Retry-After and lowers the pace; good
// answers bring it back.
func TestPauseAndSlowDownOn429(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	var first atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		if first.CompareAndSwap(false, true) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	tr := New(nil, 1000, 1)
	tr.MaxPause = 150 * time.Millisecond
	c := &http.Client{Transport: tr}
	get := func() int {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(); st != 429 {
		t.Fatalf("status %d", st)
	}
	if tr.Limit() >= 1000 || throttledCount(tr) != 1 {
		t.Fatalf("limit %v throttled %d after a 429", tr.Limit(), throttledCount(tr))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); get() }()
	}
	wg.Wait()
	mu.Lock()
	for _, at := range arrivals[1:] {
		if d := at.Sub(arrivals[0]); d < 140*time.Millisecond {
			t.Fatalf("a request arrived %v after the 429, inside the pause", d)
		}
	}
	mu.Unlock()
	for range 200 {
		get()
	}
	if tr.Limit() != 1000 {
		t.Fatalf("limit %v did not recover", tr.Limit())
	}
}

// With burst 1, actual departures stay at least 1/rate apart.
func TestStrictSpacing(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	c := &http.Client{Transport: New(nil, 100, 1)}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if len(arrivals) != 8 {
		t.Fatalf("%d arrivals", len(arrivals))
	}
	if span := arrivals[7].Sub(arrivals[0]); span < 7*9*time.Millisecond {
		t.Fatalf("8 requests at 100/s spanned %v", span)
	}
}

// throttledCount is how many 429 answers t has seen.
func throttledCount(t *Transport) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.throttled
}
