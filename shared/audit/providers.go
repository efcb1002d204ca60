package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Reserve bounds: by default the audit keeps a fifth of the time it has for
// writing and announcing, at least minReserve and at most maxReserve.
const (
	minReserve = 2 * time.Second
	maxReserve = 60 * time.Second
	// straggleGrace is how long collection waits, once its deadline has
	// passed, for providers to report their own error (a cancelled request
	// returns at once); a provider that still has not returned is reported
	// as timed out and left behind.
	straggleGrace = 250 * time.Millisecond
)

// reserve is the time kept back from collection for writing and announcing.
// It is measured on the wall clock: Job.Now may be a fixed test clock.
func (j *Job) reserve(ctx context.Context) time.Duration {
	if j.WriteReserve > 0 {
		return j.WriteReserve
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return maxReserve
	}
	return min(max(time.Until(dl)/5, minReserve), maxReserve)
}

// collectContext is ctx with its deadline moved earlier by reserve (no
// deadline when ctx has none).
func collectContext(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-reserve))
}

// outcome is what one provider gave.
type outcome struct {
	provider string
	findings []Finding
	stats    Stats
	err      error
}

type collector func(ctx context.Context) ([]Finding, Stats, error)

// collect runs every wanted provider under its own context derived from
// ctx and returns when all have answered or ctx has ended: a provider that
// has not answered by then is recorded as timed out, and the run goes on
// with what the others gave.
func (r *run) collect(ctx context.Context, j *Job) {
	jobs := r.collectors(j)
	results := make(chan outcome, len(jobs))
	waiting := map[string]bool{}
	for name, c := range jobs {
		waiting[name] = true
		go func() {
			pctx, cancel := context.WithCancel(ctx)
			defer cancel()
			f, st, err := c(pctx)
			results <- outcome{provider: name, findings: f, stats: st, err: err}
		}()
	}
	var grace <-chan time.Time
	done := ctx.Done()
	for len(waiting) > 0 {
		select {
		case o := <-results:
			delete(waiting, o.provider)
			r.record(ctx, o)
		case <-done:
			done, grace = nil, time.After(straggleGrace)
		case <-grace:
			for _, p := range slices.Sorted(maps.Keys(waiting)) {
				r.fail(p, fmt.Errorf("timed out: no answer by the collection deadline (%s before the function's, kept for writing): %w", r.reserve, ctx.Err()))
			}
			return
		}
	}
}

// record files one provider's outcome; a provider that failed because the
// collection deadline passed is named as timed out.
func (r *run) record(ctx context.Context, o outcome) {
	switch {
	case o.err == nil:
		r.findings = append(r.findings, o.findings...)
		r.sum.Providers[o.provider] = o.stats
	case errors.Is(o.err, context.DeadlineExceeded) && ctx.Err() != nil:
		r.fail(o.provider, fmt.Errorf("timed out at the collection deadline (%s before the function's, kept for writing): %w", r.reserve, o.err))
	default:
		r.fail(o.provider, o.err)
	}
}

func (r *run) fail(p string, err error) {
	r.sum.Providers[p] = Stats{Status: "failed: " + err.Error()}
	r.sum.FailedProviders = append(r.sum.FailedProviders, p)
	r.log.Error("provider failed", "provider", p, "error", err.Error())
}

// collectors decides, per provider, whether it runs (and how) or why not.
func (r *run) collectors(j *Job) map[string]collector {
	req, out := r.sum.Scope, map[string]collector{}
	if req.wants(Acronis) {
		out[Acronis] = func(ctx context.Context) ([]Finding, Stats, error) {
			root := ""
			if len(req.TenantIDs) == 0 {
				var err error
				if root, err = j.Root.Resolve(ctx, ""); err != nil {
					return nil, Stats{}, err
				}
			}
			return j.Acronis.Collect(ctx, r.rules, root, req.TenantIDs, r.started)
		}
	} else {
		r.sum.Providers[Acronis] = Stats{Status: "skipped: not requested"}
	}
	switch {
	case !req.wants(HuaweiCBR):
		r.sum.Providers[HuaweiCBR] = Stats{Status: "skipped: not requested"}
	case j.CBRError != nil:
		r.fail(HuaweiCBR, j.CBRError)
	case j.CBR == nil:
		r.sum.Providers[HuaweiCBR] = Stats{Status: "skipped: " + j.CBRSkipReason}
		if slices.Contains(req.Providers, HuaweiCBR) {
			r.fail(HuaweiCBR, errors.New(j.CBRSkipReason))
		}
	case len(req.TenantIDs) > 0 && len(req.Providers) == 0:
		r.sum.Providers[HuaweiCBR] = Stats{Status: "skipped: tenant_ids scope Acronis tenants only"}
	default:
		out[HuaweiCBR] = func(ctx context.Context) ([]Finding, Stats, error) { return j.CBR.Collect(ctx, r.rules) }
	}
	return out
}
