package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/notify"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
)

// Request is the function's input: {} for the whole audit, or a scope.
type Request struct {
	TenantIDs []string `json:"tenant_ids,omitempty"`
	Providers []string `json:"providers,omitempty"`
}

// ParseRequest decodes and checks an invocation payload.
func ParseRequest(b []byte) (Request, error) {
	var r Request
	if len(bytes.TrimSpace(b)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return Request{}, fmt.Errorf("audit request: %w", err)
		}
	}
	for _, id := range r.TenantIDs {
		if err := acronis.CheckUUID(id); err != nil {
			return Request{}, fmt.Errorf("audit request: field \"tenant_ids\": %w", err)
		}
	}
	for _, p := range r.Providers {
		if p != Acronis && p != HuaweiCBR {
			return Request{}, fmt.Errorf("audit request: field \"providers\": %q is not acronis or huaweicbr", p)
		}
	}
	return r, nil
}

func (r Request) wants(p string) bool {
	return len(r.Providers) == 0 || slices.Contains(r.Providers, p)
}

// Full is a run over everything: only full runs move the baseline for "new"
// and page anyone.
func (r Request) Full() bool { return len(r.TenantIDs) == 0 && len(r.Providers) == 0 }

// Job is the audit.
type Job struct {
	Acronis       *AcronisSource
	Root          acronis.RootTenant
	CBR           *CBRSource // nil: CBR is not configured
	CBRSkipReason string
	CBRError      error // CBR is configured but unusable (bad secret): the provider fails
	Rules         Rules
	Store         objstore.Store
	Notifier      notify.Notifier // nil: no notifications
	Metrics       io.Writer       // CloudWatch Embedded Metric Format lines (stdout in Lambda)
	Log           *slog.Logger
	Now           func() time.Time
	// WriteReserve is kept back from collection for writing and announcing;
	// 0: a fifth of the time ctx leaves, between 2 s and 60 s.
	WriteReserve time.Duration
	// RenotifyAfter announces criticals still open again once this long has
	// passed since they were last announced; 0: never (each is paged once).
	RenotifyAfter time.Duration
}

// Result is the function's output.
type Result struct {
	RunID           string           `json:"run_id"`
	Date            string           `json:"date"`
	Prefix          string           `json:"prefix"`
	Findings        int              `json:"findings"`
	BySeverity      map[string]int   `json:"by_severity"`
	New             int              `json:"new"`
	NewCritical     int              `json:"new_critical"`
	Partial         bool             `json:"partial"`
	FailedProviders []string         `json:"failed_providers,omitempty"`
	Providers       map[string]Stats `json:"providers"`
	Notified        bool             `json:"notified"`
	Announced       int              `json:"announced"` // new criticals paged this run
	Reminded        int              `json:"reminded"`  // still-open criticals paged again (RenotifyAfter)
	Resolved        int              `json:"resolved"`  // criticals announced as cleared
}

// Summary is summary.json.
type Summary struct {
	RunID           string                    `json:"run_id"`
	Date            string                    `json:"date"`
	StartedAt       time.Time                 `json:"started_at"`
	FinishedAt      time.Time                 `json:"finished_at"`
	Scope           Request                   `json:"scope"`
	Providers       map[string]Stats          `json:"providers"`
	Partial         bool                      `json:"partial"`
	FailedProviders []string                  `json:"failed_providers,omitempty"`
	Total           int                       `json:"total"`
	BySeverity      map[string]int            `json:"by_severity"`
	ByProvider      map[string]int            `json:"by_provider"`
	ByTenant        map[string]map[string]int `json:"by_tenant"`
	New             int                       `json:"new"`
	NewCritical     int                       `json:"new_critical"`
	PreviousRun     string                    `json:"previous_run,omitempty"`
	BaselineError   string                    `json:"baseline_error,omitempty"` // the baseline could not be read: "new" is unknown
	Rules           Rules                     `json:"rules"`
}

// Run collects, judges, writes the run's objects, and announces. Collection
// ends a reserve before ctx's deadline; writing and announcing then get that
// reserve on a context of their own, so a provider that hangs until the
// deadline costs its own findings only. A provider that fails or times out
// makes the run partial: what the others gave is still written, and the run
// returns an error naming it.
func (j *Job) Run(ctx context.Context, req Request) (Result, error) {
	r := j.newRun(ctx, req)
	cctx, cancel := collectContext(ctx, r.reserve)
	r.collect(cctx, j)
	cancel()
	wctx, wcancel := writeContext(ctx, r.reserve)
	defer wcancel()
	err := r.finish(wctx, j)
	return r.res, err
}

// run is one audit run's state.
type run struct {
	sum      Summary
	res      Result
	findings []Finding
	rules    Rules
	started  time.Time
	prefix   string
	reserve  time.Duration
	log      *slog.Logger
}

func (j *Job) now() time.Time {
	if j.Now != nil {
		return j.Now().UTC()
	}
	return time.Now().UTC()
}

func (j *Job) newRun(ctx context.Context, req Request) *run {
	log := j.Log
	if log == nil {
		log = slog.Default()
	}
	started := j.now()
	runID := started.Format("20060102T150405Z") + "-" + randHex(4)
	date := started.Format(time.DateOnly)
	r := &run{rules: j.Rules.WithDefaults(), started: started, reserve: j.reserve(ctx), log: log,
		prefix: fmt.Sprintf("audit/dt=%s/run=%s/", date, runID)}
	r.sum = Summary{RunID: runID, Date: date, StartedAt: started, Scope: req, Providers: map[string]Stats{}, Rules: r.rules}
	return r
}

// writeContext is a fresh context for writing: not cancelled with ctx,
// ending at ctx's deadline (which collection left free by reserve), or
// after reserve when ctx has none.
func writeContext(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(context.WithoutCancel(ctx), dl)
	}
	return context.WithTimeout(context.WithoutCancel(ctx), reserve)
}

// finish judges, writes, announces and moves the baseline; every step that
// can still run does, and the error names all that went wrong.
func (r *run) finish(ctx context.Context, j *Job) error {
	prev, berr := j.readBaseline(ctx)
	if berr != nil {
		r.log.Error("baseline unreadable: findings written without new/first-seen marks, baseline not moved; fix or delete it",
			"key", latestKey, "error", berr.Error())
		r.sum.BaselineError = berr.Error()
		berr = fmt.Errorf("audit: baseline unreadable (nothing marked new, baseline not moved): %w", berr)
	}
	r.judge(prev)
	r.sum.FinishedAt = j.now()
	s := r.sum
	r.res = Result{RunID: s.RunID, Date: s.Date, Prefix: r.prefix, Findings: s.Total, BySeverity: s.BySeverity, New: s.New,
		NewCritical: s.NewCritical, Partial: s.Partial, FailedProviders: s.FailedProviders, Providers: s.Providers}
	if err := r.write(ctx, j); err != nil {
		return errors.Join(r.partialError(), err)
	}
	j.emitMetrics(r.sum)
	aerr := r.announce(ctx, j)
	merr := r.moveBaseline(ctx, j, prev)
	r.log.Info("audit written", "prefix", r.prefix, "findings", s.Total, "new", s.New, "new_critical", s.NewCritical,
		"partial", s.Partial, "announced", r.res.Announced, "resolved", r.res.Resolved)
	return errors.Join(r.partialError(), berr, aerr, merr)
}

// partialError names the providers that failed, and why.
func (r *run) partialError() error {
	if !r.sum.Partial {
		return nil
	}
	var why []string
	for _, p := range r.sum.FailedProviders {
		why = append(why, p+" ("+strings.TrimPrefix(r.sum.Providers[p].Status, "failed: ")+")")
	}
	return fmt.Errorf("audit: partial run, provider(s) failed: %s; %s holds what the others gave", strings.Join(why, "; "), r.prefix)
}

func (r *run) write(ctx context.Context, j *Job) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	for _, f := range r.findings {
		if err := enc.Encode(f); err != nil {
			return fmt.Errorf("audit: encode findings: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("audit: compress findings: %w", err)
	}
	if err := j.Store.Put(ctx, r.prefix+"findings.jsonl.gz", &buf, objstore.PutOptions{ContentType: "application/x-ndjson", ContentEncoding: "gzip"}); err != nil {
		return fmt.Errorf("audit: write findings: %w", err)
	}
	var html bytes.Buffer
	if err := renderHTML(&html, r.sum, r.findings); err != nil {
		return fmt.Errorf("audit: render report: %w", err)
	}
	if err := j.Store.Put(ctx, r.prefix+"report.html", &html, objstore.PutOptions{ContentType: "text/html; charset=utf-8"}); err != nil {
		return fmt.Errorf("audit: write report: %w", err)
	}
	// The summary goes last: a reader who sees it sees the run's other objects.
	return putJSON(ctx, j.Store, r.prefix+"summary.json", r.sum)
}

// emitMetrics prints one CloudWatch Embedded Metric Format line.
func (j *Job) emitMetrics(sum Summary) {
	if j.Metrics == nil {
		return
	}
	names := []string{"FindingsCritical", "FindingsWarning", "FindingsUnknown", "FindingsNew", "FindingsNewCritical", "ProvidersFailed"}
	var defs []map[string]string
	for _, n := range names {
		defs = append(defs, map[string]string{"Name": n, "Unit": "Count"})
	}
	line := map[string]any{
		"_aws": map[string]any{"Timestamp": sum.FinishedAt.UnixMilli(), "CloudWatchMetrics": []any{map[string]any{
			"Namespace": "acp-serverless/audit", "Dimensions": [][]string{{"Service"}}, "Metrics": defs}}},
		"Service": "policy-audit", "FindingsCritical": sum.BySeverity[Critical], "FindingsWarning": sum.BySeverity[Warning],
		"FindingsUnknown": sum.BySeverity[Unknown], "FindingsNew": sum.New, "FindingsNewCritical": sum.NewCritical,
		"ProvidersFailed": len(sum.FailedProviders), "run_id": sum.RunID,
	}
	b, _ := json.Marshal(line)
	_, _ = j.Metrics.Write(append(b, '\n'))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
