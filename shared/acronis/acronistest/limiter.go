package acronistest

import (
	"math"
	"time"
)

// windowLimiter admits at most n requests in any window of the given length:
// "50 requests per second" read as the APIs that publish such limits count
// them, over a rolling second. It is strict on the count (the 51st request
// inside a second is refused, however the 50 before it were spread) and it
// does not penalise a client whose evenly paced requests arrive a millisecond
// early or late, as a limiter that spaces every request 1/rate apart would.
type windowLimiter struct {
	window time.Duration
	seen   []time.Time // arrival times of admitted requests, a ring
	next   int         // where the next arrival goes; also the oldest when full
	full   bool
}

// newWindowLimiter reads rps requests per second as n requests per window:
// 50/s is 50 per second, 0.5/s is 1 per two seconds.
func newWindowLimiter(rps float64) *windowLimiter {
	n := max(1, int(math.Round(rps)))
	return &windowLimiter{window: time.Duration(float64(n) / rps * float64(time.Second)), seen: make([]time.Time, n)}
}

// allow admits a request arriving at now, or says how long until one would be
// admitted. Refused requests are not counted. A nil limiter admits all.
func (l *windowLimiter) allow(now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	if l.full {
		if wait := l.seen[l.next].Add(l.window).Sub(now); wait > 0 {
			return false, wait
		}
	}
	l.seen[l.next] = now
	l.next++
	if l.next == len(l.seen) {
		l.next, l.full = 0, true
	}
	return true, 0
}

// retryAfter is the Retry-After header for a wait: whole seconds, at least 1.
func retryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}
