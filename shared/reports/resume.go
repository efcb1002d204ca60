package reports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Resume defaults: see Job.
const (
	defaultResumeMin    = 500 * time.Millisecond
	defaultResumeMax    = 20 * time.Second
	defaultResumeStalls = 5
)

// resumer is the raw (compressed) body of one stored report, read across as
// many answers as it takes: an answer cut mid-body is continued from the
// bytes already handed on with "Range: bytes=N-". What reads it (gzip, the
// size check, the upload) sees one stream, each byte once and in order.
type resumer struct {
	ctx      context.Context
	open     func(ctx context.Context, from int64) (*http.Response, error)
	size     int64 // declared compressed size; 0 = unknown
	sleep    func(ctx context.Context, d time.Duration) error
	deadline time.Time
	min, max time.Duration // backoff bounds
	stallMax int           // answers in a row that add nothing before giving up
	onResume func(from int64, requests int, wait time.Duration, cause error)
	cancel   context.CancelFunc // ends ctx; nil when ctx is the caller's own

	body     io.ReadCloser
	n        int64 // bytes handed on
	mark     int64 // n when the current answer was asked for
	requests int   // answers asked for
	stalls   int
	delay    time.Duration
	cause    error // why the last answer ended early
}

func (r *resumer) Read(p []byte) (int, error) {
	for {
		if r.body == nil {
			if err := r.reopen(); err != nil {
				return 0, err
			}
			continue
		}
		k, err := r.body.Read(p)
		r.n += int64(k)
		switch {
		case r.size > 0 && r.n > r.size:
			r.closeBody()
			return 0, fmt.Errorf("got %d bytes, more than the %d the stored report declares", r.n, r.size)
		case err == nil:
			return k, nil
		case errors.Is(err, io.EOF) && r.size <= 0, r.size > 0 && r.n == r.size:
			r.closeBody() // every declared byte is in: a connection error after the last one does not matter
			return k, io.EOF
		case errors.Is(err, io.EOF):
			err = fmt.Errorf("answer ended at byte %d of %d", r.n, r.size)
		}
		r.cause = err
		r.closeBody() // the next Read resumes
		if k > 0 {
			return k, nil
		}
	}
}

func (r *resumer) closeBody() {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
}

// Close releases the current answer, if any.
func (r *resumer) Close() error {
	r.closeBody()
	if r.cancel != nil {
		r.cancel()
	}
	return nil
}

// reopen asks for the rest of the file, after a pause when it is not the
// first answer.
func (r *resumer) reopen() error {
	if r.requests > 0 {
		if err := r.pause(); err != nil {
			return err
		}
	}
	r.requests++
	r.mark = r.n
	resp, err := r.open(r.ctx, r.n)
	if err != nil {
		// The HTTP layer has already spent the retry budget on this answer
		// (5xx, 429, dropped connections): only a body cut after the headers
		// is resumed here, so the two never multiply.
		if r.cause != nil {
			return fmt.Errorf("resume at byte %d: %w (last cut: %w)", r.n, err, r.cause)
		}
		return err
	}
	body, err := r.accept(resp)
	if err != nil {
		resp.Body.Close()
		return err
	}
	r.body = body
	return nil
}

// accept checks an answer continues exactly at byte n. A 206 must say so
// in Content-Range; a 200 is the whole file (the server ignored Range), so
// the bytes already handed on are read again and dropped.
func (r *resumer) accept(resp *http.Response) (io.ReadCloser, error) {
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		start, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return nil, fmt.Errorf("resume at byte %d: %w", r.n, err)
		}
		if start != r.n {
			return nil, fmt.Errorf("resume at byte %d: the server answered from byte %d", r.n, start)
		}
		if r.size > 0 && total >= 0 && total != r.size {
			return nil, fmt.Errorf("resume at byte %d: the file is now %d bytes, %d declared: it changed", r.n, total, r.size)
		}
		return resp.Body, nil
	case resp.StatusCode == http.StatusOK:
		if r.n > 0 {
			if k, err := io.CopyN(io.Discard, resp.Body, r.n); err != nil {
				resp.Body.Close()
				r.cause = fmt.Errorf("restart without range support: cut at byte %d of the %d already received: %w", k, r.n, err)
				return nil, nil
			}
		}
		return resp.Body, nil
	}
	return nil, fmt.Errorf("download answered %d %s, want 200 or 206", resp.StatusCode, http.StatusText(resp.StatusCode))
}

// pause waits before asking again: a jittered delay that doubles after an
// answer that added nothing and halves after one that made progress. It
// gives up after stallMax answers in a row without progress, or when the
// wait would pass the deadline.
func (r *resumer) pause() error {
	if r.n > r.mark {
		r.stalls = 0
		r.delay = max(r.delay/2, r.min)
	} else {
		r.stalls++
		r.delay = min(max(r.delay*2, r.min), r.max)
	}
	if r.stalls >= r.stallMax {
		return fmt.Errorf("no progress in %d answers in a row, stuck at byte %d of %d after %d requests: %w",
			r.stalls, r.n, r.size, r.requests, r.cause)
	}
	d := r.delay/2 + rand.N(r.delay/2+1) // jitter: callers cut together do not come back together
	if time.Until(r.deadline) < d {
		return fmt.Errorf("deadline: no time left to resume at byte %d of %d after %d requests: %w", r.n, r.size, r.requests, r.cause)
	}
	if r.onResume != nil {
		r.onResume(r.n, r.requests, d, r.cause)
	}
	if err := r.sleep(r.ctx, d); err != nil {
		return fmt.Errorf("waiting to resume at byte %d: %w (last cut: %w)", r.n, err, r.cause)
	}
	return nil
}

// parseContentRange reads "bytes first-last/total" (total may be "*":
// returned as -1).
func parseContentRange(v string) (start, total int64, err error) {
	spec, ok := strings.CutPrefix(v, "bytes ")
	rng, tot, ok2 := strings.Cut(spec, "/")
	first, last, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("Content-Range %q is not \"bytes first-last/total\"", v)
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	total = -1
	var err3 error
	if tot != "*" {
		total, err3 = strconv.ParseInt(tot, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start || total >= 0 && end >= total {
		return 0, 0, fmt.Errorf("Content-Range %q is not \"bytes first-last/total\"", v)
	}
	return start, total, nil
}
