package audit

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/objstore"
)

// latest points at the last complete full run: the baseline for "new" and
// for "failing since".
type latest struct {
	RunID       string `json:"run_id"`
	FindingsKey string `json:"findings_key"`
}

const latestKey = "audit/latest.json"

// previousRun is what the baseline says. state tells a first run (no
// baseline: everything is new) from a baseline that could not be read
// (nothing is known: nothing is marked new, nothing announced from it).
type previousRun struct {
	state     baselineState
	runID     string
	firstSeen map[string]time.Time // key -> first seen ("" keys of old runs: the run's start)
}

type baselineState int

const (
	baselineNone baselineState = iota
	baselineRead
	baselineUnreadable
)

// readBaseline reads the last complete full run. Any Get error other than
// ErrNotFound counts as unreadable: S3 answers 403 for a missing key when the
// role lacks s3:ListBucket, and a refused read must never look like a clean slate.
func (j *Job) readBaseline(ctx context.Context) (previousRun, error) {
	var l latest
	found, err := getJSON(ctx, j.Store, latestKey, &l)
	if err != nil {
		return previousRun{state: baselineUnreadable}, err
	}
	if !found {
		return previousRun{state: baselineNone}, nil
	}
	first, err := j.readFirstSeen(ctx, l)
	if err != nil {
		return previousRun{state: baselineUnreadable}, err
	}
	return previousRun{state: baselineRead, runID: l.RunID, firstSeen: first}, nil
}

func (j *Job) readFirstSeen(ctx context.Context, l latest) (map[string]time.Time, error) {
	rc, err := j.Store.Get(ctx, l.FindingsKey)
	if err != nil {
		return nil, fmt.Errorf("audit: read baseline findings %s: %w", l.FindingsKey, err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return nil, fmt.Errorf("audit: read baseline findings %s: %w", l.FindingsKey, err)
	}
	runStart, _ := time.Parse("20060102T150405Z", runStamp(l.RunID))
	first := map[string]time.Time{}
	dec := json.NewDecoder(zr)
	for {
		var f struct {
			Key       string    `json:"key"`
			FirstSeen time.Time `json:"first_seen"`
		}
		if err := dec.Decode(&f); err == io.EOF {
			return first, nil
		} else if err != nil {
			return nil, fmt.Errorf("audit: read baseline findings %s: %w", l.FindingsKey, err)
		}
		first[f.Key] = f.FirstSeen
		if f.FirstSeen.IsZero() {
			first[f.Key] = runStart
		}
	}
}

// getJSON decodes key into v; found is false only for a key that does not exist.
func getJSON(ctx context.Context, s objstore.Store, key string, v any) (found bool, err error) {
	rc, err := s.Get(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("audit: read %s: %w", key, err)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		return false, fmt.Errorf("audit: read %s: %w", key, err)
	}
	return true, nil
}

func putJSON(ctx context.Context, s objstore.Store, key string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("audit: encode %s: %w", key, err)
	}
	if err := s.Put(ctx, key, bytes.NewReader(b), objstore.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("audit: write %s: %w", key, err)
	}
	return nil
}

// judge orders the findings worst first, marks what is new since the
// baseline and carries each finding's first sighting, and counts.
func (r *run) judge(prev previousRun) {
	sort.SliceStable(r.findings, func(a, b int) bool {
		x, y := r.findings[a], r.findings[b]
		if SeverityRank(x.Severity) != SeverityRank(y.Severity) {
			return SeverityRank(x.Severity) < SeverityRank(y.Severity)
		}
		return x.Key < y.Key
	})
	s := &r.sum
	s.Partial = len(s.FailedProviders) > 0
	slices.Sort(s.FailedProviders)
	s.PreviousRun = prev.runID
	s.BySeverity, s.ByProvider, s.ByTenant = map[string]int{}, map[string]int{}, map[string]map[string]int{}
	for i := range r.findings {
		f := &r.findings[i]
		seen, ok := prev.firstSeen[f.Key]
		switch {
		case prev.state == baselineUnreadable: // unknown: neither new nor old
		case ok:
			f.FirstSeen = seen
		default:
			f.New, f.FirstSeen = true, r.started
		}
		if f.New {
			s.New++
			if f.Severity == Critical {
				s.NewCritical++
			}
		}
		s.BySeverity[f.Severity]++
		s.ByProvider[f.Provider]++
		t := cmp.Or(f.TenantID, f.Customer)
		if s.ByTenant[t] == nil {
			s.ByTenant[t] = map[string]int{}
		}
		s.ByTenant[t][f.Severity]++
	}
	s.Total = len(r.findings)
}

// moveBaseline makes this run the baseline: only a complete full run whose
// providers had no problems (findings it could not see would lose their
// first sighting), and never over a baseline this run could not read (it
// stays for an operator to look at; the error says so).
func (r *run) moveBaseline(ctx context.Context, j *Job, prev previousRun) error {
	if !r.sum.Scope.Full() || r.sum.Partial || prev.state == baselineUnreadable || r.hadProblems() {
		return nil
	}
	return putJSON(ctx, j.Store, latestKey, latest{RunID: r.sum.RunID, FindingsKey: r.prefix + "findings.jsonl.gz"})
}

// runStamp is the time part of a run id (20060102T150405Z-abcd1234).
func runStamp(id string) string {
	stamp, _, _ := strings.Cut(id, "-")
	return stamp
}

// hadProblems reports whether a provider answered only in part.
func (r *run) hadProblems() bool {
	for _, st := range r.sum.Providers {
		if len(st.Problems) > 0 {
			return true
		}
	}
	return false
}
