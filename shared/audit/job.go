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
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
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

// Notifier sends one message (SNS in Lambda).
type Notifier interface {
	Notify(ctx context.Context, subject, message string) error
}

// Job is the audit.
type Job struct {
	Acronis       *AcronisSource
	RootTenantID  func(ctx context.Context) (string, error)
	CBR           *CBRSource // nil: CBR is not configured
	CBRSkipReason string
	CBRError      error // CBR is configured but unusable (bad secret): the provider fails
	Rules         Rules
	Store         objstore.Store
	Notifier      Notifier  // nil: no notifications
	Metrics       io.Writer // CloudWatch Embedded Metric Format lines (stdout in Lambda)
	Log           *slog.Logger
	Now           func() time.Time
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
	Rules           Rules                     `json:"rules"`
}

// latest points at the last complete full run: the baseline for "new".
type latest struct {
	RunID       string `json:"run_id"`
	FindingsKey string `json:"findings_key"`
}

const latestKey = "audit/latest.json"

// Run collects, judges, writes the run's objects, and notifies. A provider
// that fails makes the run partial: what the others gave is still written,
// and the run returns an error naming the failed provider.
func (j *Job) Run(ctx context.Context, req Request) (Result, error) {
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	log := j.Log
	if log == nil {
		log = slog.Default()
	}
	rules := j.Rules.WithDefaults()
	started := now().UTC()
	runID := started.Format("20060102T150405Z") + "-" + randHex(4)
	date := started.Format(time.DateOnly)
	prefix := fmt.Sprintf("audit/dt=%s/run=%s/", date, runID)

	sum := Summary{RunID: runID, Date: date, StartedAt: started, Scope: req, Providers: map[string]Stats{}, Rules: rules}
	var findings []Finding
	var mu sync.Mutex
	var wg sync.WaitGroup
	fail := func(p string, err error) {
		mu.Lock()
		defer mu.Unlock()
		sum.Providers[p] = Stats{Status: "failed: " + err.Error()}
		sum.FailedProviders = append(sum.FailedProviders, p)
		log.ErrorContext(ctx, "provider failed", "provider", p, "error", err.Error())
	}
	done := func(p string, f []Finding, st Stats) {
		mu.Lock()
		defer mu.Unlock()
		findings = append(findings, f...)
		sum.Providers[p] = st
	}
	if req.wants(Acronis) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			root := ""
			if len(req.TenantIDs) == 0 {
				var err error
				if root, err = j.RootTenantID(ctx); err != nil {
					fail(Acronis, err)
					return
				}
			}
			f, st, err := j.Acronis.Collect(ctx, rules, root, req.TenantIDs, started)
			if err != nil {
				fail(Acronis, err)
				return
			}
			done(Acronis, f, st)
		}()
	} else {
		done(Acronis, nil, Stats{Status: "skipped: not requested"})
	}
	switch {
	case !req.wants(HuaweiCBR):
		done(HuaweiCBR, nil, Stats{Status: "skipped: not requested"})
	case j.CBRError != nil:
		fail(HuaweiCBR, j.CBRError)
	case j.CBR == nil:
		done(HuaweiCBR, nil, Stats{Status: "skipped: " + j.CBRSkipReason})
		if slices.Contains(req.Providers, HuaweiCBR) {
			fail(HuaweiCBR, errors.New(j.CBRSkipReason))
		}
	case len(req.TenantIDs) > 0 && len(req.Providers) == 0:
		done(HuaweiCBR, nil, Stats{Status: "skipped: tenant_ids scope Acronis tenants only"})
	default:
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, st, err := j.CBR.Collect(ctx, rules)
			if err != nil {
				fail(HuaweiCBR, err)
				return
			}
			done(HuaweiCBR, f, st)
		}()
	}
	wg.Wait()
	sort.SliceStable(findings, func(a, b int) bool {
		x, y := findings[a], findings[b]
		if SeverityRank(x.Severity) != SeverityRank(y.Severity) {
			return SeverityRank(x.Severity) < SeverityRank(y.Severity)
		}
		return x.Key < y.Key
	})
	sum.Partial = len(sum.FailedProviders) > 0
	sort.Strings(sum.FailedProviders)

	// New since the last complete full run.
	prev, err := j.previous(ctx)
	if err != nil {
		log.WarnContext(ctx, "previous run unreadable; every finding counts as new", "error", err.Error())
	}
	if prev.keys != nil {
		sum.PreviousRun = prev.runID
	}
	sum.BySeverity, sum.ByProvider, sum.ByTenant = map[string]int{}, map[string]int{}, map[string]map[string]int{}
	var newCritical []Finding
	for i := range findings {
		f := &findings[i]
		f.New = prev.keys == nil || !prev.keys[f.Key]
		if f.New {
			sum.New++
			if f.Severity == Critical {
				sum.NewCritical++
				newCritical = append(newCritical, *f)
			}
		}
		sum.BySeverity[f.Severity]++
		sum.ByProvider[f.Provider]++
		t := firstNonEmpty(f.TenantID, f.Customer)
		if sum.ByTenant[t] == nil {
			sum.ByTenant[t] = map[string]int{}
		}
		sum.ByTenant[t][f.Severity]++
	}
	sum.Total = len(findings)
	sum.FinishedAt = now().UTC()

	res := Result{RunID: runID, Date: date, Prefix: prefix, Findings: sum.Total, BySeverity: sum.BySeverity, New: sum.New,
		NewCritical: sum.NewCritical, Partial: sum.Partial, FailedProviders: sum.FailedProviders, Providers: sum.Providers}
	if err := j.write(ctx, prefix, findings, sum); err != nil {
		return res, err
	}
	j.emitMetrics(sum)
	// Page before moving the baseline: if the notification fails, the re-run
	// still sees these findings as new and pages then.
	if j.Notifier != nil && req.Full() && len(newCritical) > 0 {
		if err := j.Notifier.Notify(ctx, fmt.Sprintf("acp-serverless audit: %d new critical finding(s)", len(newCritical)), notification(newCritical, prefix)); err != nil {
			return res, fmt.Errorf("audit: notify (baseline not moved, a re-run pages again): %w", err)
		}
		res.Notified = true
	}
	if req.Full() && !sum.Partial {
		b, _ := json.Marshal(latest{RunID: runID, FindingsKey: prefix + "findings.jsonl.gz"})
		if err := j.Store.Put(ctx, latestKey, bytes.NewReader(b), objstore.PutOptions{ContentType: "application/json"}); err != nil {
			return res, err
		}
	}
	log.InfoContext(ctx, "audit written", "prefix", prefix, "findings", sum.Total, "new", sum.New, "new_critical", sum.NewCritical, "partial", sum.Partial)
	if sum.Partial {
		var why []string
		for _, p := range sum.FailedProviders {
			why = append(why, p+" ("+strings.TrimPrefix(sum.Providers[p].Status, "failed: ")+")")
		}
		return res, fmt.Errorf("audit: provider(s) failed: %s; %s holds what the others gave, marked partial", strings.Join(why, "; "), prefix)
	}
	return res, nil
}

type previousRun struct {
	runID string
	keys  map[string]bool
}

func (j *Job) previous(ctx context.Context) (previousRun, error) {
	rc, err := j.Store.Get(ctx, latestKey)
	if errors.Is(err, objstore.ErrNotFound) {
		return previousRun{}, nil
	}
	if err != nil {
		return previousRun{}, err
	}
	var l latest
	err = json.NewDecoder(rc).Decode(&l)
	rc.Close()
	if err != nil {
		return previousRun{}, fmt.Errorf("%s: %w", latestKey, err)
	}
	rc, err = j.Store.Get(ctx, l.FindingsKey)
	if err != nil {
		return previousRun{}, err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return previousRun{}, fmt.Errorf("%s: %w", l.FindingsKey, err)
	}
	keys := map[string]bool{}
	dec := json.NewDecoder(zr)
	for {
		var f struct {
			Key string `json:"key"`
		}
		if err := dec.Decode(&f); err == io.EOF {
			break
		} else if err != nil {
			return previousRun{}, fmt.Errorf("%s: %w", l.FindingsKey, err)
		}
		keys[f.Key] = true
	}
	return previousRun{runID: l.RunID, keys: keys}, nil
}

func (j *Job) write(ctx context.Context, prefix string, findings []Finding, sum Summary) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	for _, f := range findings {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := j.Store.Put(ctx, prefix+"findings.jsonl.gz", &buf, objstore.PutOptions{ContentType: "application/x-ndjson", ContentEncoding: "gzip"}); err != nil {
		return fmt.Errorf("audit: write findings: %w", err)
	}
	var html bytes.Buffer
	if err := renderHTML(&html, sum, findings); err != nil {
		return fmt.Errorf("audit: render report: %w", err)
	}
	if err := j.Store.Put(ctx, prefix+"report.html", &html, objstore.PutOptions{ContentType: "text/html; charset=utf-8"}); err != nil {
		return fmt.Errorf("audit: write report: %w", err)
	}
	// The summary goes last: a reader who sees it sees the run's other objects.
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := j.Store.Put(ctx, prefix+"summary.json", bytes.NewReader(b), objstore.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("audit: write summary: %w", err)
	}
	return nil
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

func notification(fs []Finding, prefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d new critical finding(s) in the audit run %s\n(report: %sreport.html)\n\n", len(fs), prefix, prefix)
	for i, f := range fs {
		if i == 20 {
			fmt.Fprintf(&b, "... and %d more\n", len(fs)-20)
			break
		}
		fmt.Fprintf(&b, "- [%s] %s / %s: %s (%s)\n", f.Provider, f.Customer, firstNonEmpty(f.Resource, f.Policy), f.Message, f.Rule)
	}
	return b.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
