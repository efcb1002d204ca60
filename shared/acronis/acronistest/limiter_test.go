package acronistest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestWindowLimiter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	// every returns arrivals spaced gap ms apart, starting at from ms.
	every := func(from, gap, n int) []time.Time {
		out := make([]time.Time, n)
		for i := range out {
			out[i] = ms(from + i*gap)
		}
		return out
	}
	tests := []struct {
		name     string
		rps      float64
		arrivals []time.Time
		refused  []int           // indexes of arrivals that get a 429
		wait     []time.Duration // the wait each refusal states
	}{
		{"50 at once pass, the 51st waits a second", 50, every(0, 0, 51), []int{50}, []time.Duration{time.Second}},
		{"paced at 48/s with jitter never refused", 50, jitter(every(0, 21, 200)), nil, nil},
		{"paced at 50/s exactly fits", 50, every(0, 20, 200), nil, nil},
		{"51 within 950 ms: the last waits for the first to leave", 50, every(0, 19, 51), []int{50}, []time.Duration{50 * time.Millisecond}},
		// Counted, the refusal at 20 ms would still fill the window at 1005 ms.
		{"a refusal is not counted", 2, []time.Time{ms(0), ms(10), ms(20), ms(1005)}, []int{2}, []time.Duration{980 * time.Millisecond}},
		{"half a request per second is one per two seconds", 0.5, []time.Time{ms(0), ms(1500), ms(2000)}, []int{1}, []time.Duration{500 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newWindowLimiter(tt.rps)
			var refused []int
			var waits []time.Duration
			for i, at := range tt.arrivals {
				if ok, wait := l.allow(at); !ok {
					refused, waits = append(refused, i), append(waits, wait)
				}
			}
			if len(refused) != len(tt.refused) {
				t.Fatalf("refused %v, want %v", refused, tt.refused)
			}
			for i := range refused {
				if refused[i] != tt.refused[i] || waits[i] != tt.wait[i] {
					t.Errorf("refusal %d: #%d waiting %v, want #%d waiting %v", i, refused[i], waits[i], tt.refused[i], tt.wait[i])
				}
			}
		})
	}
}

// jitter moves every arrival by up to ±3 ms, as scheduling does.
func jitter(at []time.Time) []time.Time {
	shift := []int{3, -3, 0, 2, -2, 1, -1}
	out := make([]time.Time, len(at))
	for i, a := range at {
		out[i] = a.Add(time.Duration(shift[i%len(shift)]) * time.Millisecond)
	}
	return out
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want int
	}{
		{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {2500 * time.Millisecond, 3},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.wait); got != tt.want {
			t.Errorf("retryAfter(%v) = %d, want %d", tt.wait, got, tt.want)
		}
	}
}

// Over HTTP: a burst past the limit gets the documented error body and a
// Retry-After, and the requests it admitted are exactly the limit.
func TestRateLimitOverHTTP(t *testing.T) {
	sim := NewServer(t, Config{Seed: 1})
	sim.SetFaults(Faults{RateLimit: 5})
	var ok, limited int
	for range 8 {
		resp, err := http.Get(sim.URL() + "/api/2/tenants")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			limited++
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		case http.StatusUnauthorized: // admitted, then refused for want of a token
			ok++
		default:
			t.Errorf("status %d", resp.StatusCode)
		}
	}
	if ok != 5 || limited != 3 {
		t.Errorf("%d admitted and %d limited, want 5 and 3", ok, limited)
	}
}

// A cut answer sends its status and Content-Length, then half the body, then
// the connection ends: the client's read fails short of the length.
func TestCutAnswers(t *testing.T) {
	sim := NewServer(t, Config{Seed: 2})
	sim.GenerateTree(2, 2, 1)
	cid, secret := sim.AddAPIClient("")
	tok := MintToken(t, sim, cid, secret)
	tests := []struct {
		name    string
		path    string
		wantCut bool
	}{
		{"2xx answer is cut", "/api/2/tenants?subtree_root_id=" + sim.RootTenantID(), true},
		{"error answer passes whole", "/api/2/tenants/00000000-0000-4000-8000-000000000000", false},
	}
	sim.SetFaults(Faults{RateCut: 1, SkipTokenEP: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", sim.URL()+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if tt.wantCut {
				if !errors.Is(err, io.ErrUnexpectedEOF) || resp.StatusCode != 200 || int64(len(b)) >= resp.ContentLength {
					t.Fatalf("status %d, read %d of %d bytes, err %v: want a cut", resp.StatusCode, len(b), resp.ContentLength, err)
				}
				if got := sim.Requests(); got[len(got)-1].Status != StatusCut {
					t.Fatalf("logged as %d", got[len(got)-1].Status)
				}
				return
			}
			if err != nil || resp.StatusCode != 404 || !json.Valid(b) {
				t.Fatalf("status %d, err %v, body %q", resp.StatusCode, err, b)
			}
		})
	}
}
