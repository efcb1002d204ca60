package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/audit"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr/cbrtest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
)

// ctxStore honours the context as S3 does: a cancelled or expired context
// writes and reads nothing.
type ctxStore struct{ objstore.Store }

func (s ctxStore) Put(ctx context.Context, key string, r io.Reader, o objstore.PutOptions) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return s.Store.Put(ctx, key, r, o)
}

func (s ctxStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return s.Store.Get(ctx, key)
}

// refusingStore answers access denied for some keys, as S3 does for a
// missing key when the role lacks s3:ListBucket.
type refusingStore struct {
	objstore.Store
	refuse map[string]bool
}

var errAccessDenied = errors.New("api error AccessDenied: Access Denied")

func (s refusingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if s.refuse[key] {
		return nil, fmt.Errorf("objstore: get %s: %w", key, errAccessDenied)
	}
	return s.Store.Get(ctx, key)
}

// hangingCBR is a CBR endpoint that never answers until the client gives up.
func hangingCBR(t *testing.T) *audit.CBRSource {
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(func() { close(release) })
	creds := huaweicbr.Credentials{Region: "sim-1", ProjectID: "p1", AccessKey: "AKHANG", SecretKey: "sk", Endpoint: hs.URL}
	return &audit.CBRSource{Client: huaweicbr.New(creds, &http.Client{Transport: httpretry.NewTransport(nil, retry)}), Project: "hang"}
}

// CBR hangs past the function's deadline: the Acronis half is still
// written, before the deadline, marked partial with CBR named as timed out.
func TestProviderHangsPastDeadline(t *testing.T) {
	w := newWorld(t, 2, 10, 0, 0)
	w.job.CBR = hangingCBR(t)
	w.job.Store = ctxStore{w.store}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	res, err := w.job.Run(ctx, audit.Request{})
	if took := time.Since(began); took >= 5*time.Second {
		t.Fatalf("the run took %s, past the deadline", took)
	}
	if err == nil || !strings.Contains(err.Error(), "huaweicbr") || !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), "partial") {
		t.Fatalf("err %v", err)
	}
	sum := w.summary(t, res)
	if !sum.Partial || len(sum.FailedProviders) != 1 || sum.FailedProviders[0] != audit.HuaweiCBR ||
		!strings.Contains(sum.Providers[audit.HuaweiCBR].Status, "timed out") || sum.Providers[audit.Acronis].Status != "ok" {
		t.Fatalf("summary %+v", sum)
	}
	if fs := w.findings(t, res); len(fs) == 0 || sum.ByProvider[audit.Acronis] != len(fs) {
		t.Fatalf("%d findings written, summary by provider %v", len(fs), sum.ByProvider)
	}
	// Pages went out for the Acronis criticals all the same.
	if len(w.notifier.subjects) != 1 {
		t.Fatalf("notifications %v", w.notifier.subjects)
	}
}

func criticalsOf(fs []audit.Finding, provider string) int {
	n := 0
	for _, f := range fs {
		if f.Severity == audit.Critical && f.Provider == provider {
			n++
		}
	}
	return n
}

// One critical is paged once: not again on Lambda's retry of a partial
// run, not "resolved" by a run that did not see its provider, and when
// criticals clear one message says so.
func TestPagesOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 3, 20, 10, 6)
	cbr := w.job.CBR
	pages := func(want int, step string) {
		t.Helper()
		if len(w.notifier.subjects) != want {
			t.Fatalf("%s: %d messages, want %d: %q", step, len(w.notifier.subjects), want, w.notifier.subjects)
		}
	}
	w.job.CBR, w.job.CBRError = nil, errors.New("secret unreadable")
	if _, err := w.job.Run(ctx, audit.Request{}); err == nil {
		t.Fatal("a partial run succeeded")
	}
	pages(1, "partial run")
	if _, err := w.job.Run(ctx, audit.Request{}); err == nil { // Lambda's retry
		t.Fatal("a partial run succeeded")
	}
	pages(1, "retry of the partial run")
	w.job.CBR, w.job.CBRError = cbr, nil
	res, err := w.job.Run(ctx, audit.Request{})
	if err != nil {
		t.Fatal(err)
	}
	cbrCrit := criticalsOf(w.findings(t, res), audit.HuaweiCBR)
	pages(2, "CBR back")
	if cbrCrit == 0 || res.Announced != cbrCrit || strings.Contains(w.notifier.messages[1], "[acronis]") || strings.Contains(w.notifier.messages[1], ", acronis)") {
		t.Fatalf("CBR back: announced %d of %d CBR criticals: %s", res.Announced, cbrCrit, w.notifier.messages[1])
	}
	w.job.CBR, w.job.CBRError = nil, errors.New("secret unreadable")
	_, _ = w.job.Run(ctx, audit.Request{})
	pages(2, "CBR down again: its criticals are not resolved")
	healthy := cbrtest.NewServer(t, cbrtest.Config{Seed: 3})
	healthy.Populate(3, 4, 0) // policies only: no delivery errors
	w.job.CBR, w.job.CBRError = &audit.CBRSource{Client: huaweicbr.New(healthy.Credentials(), &http.Client{Transport: httpretry.NewTransport(nil, retry)}), Project: "cbr-project"}, nil
	res, err = w.job.Run(ctx, audit.Request{})
	if err != nil {
		t.Fatal(err)
	}
	pages(3, "CBR criticals cleared")
	if res.Resolved != cbrCrit || !strings.Contains(w.notifier.subjects[2], fmt.Sprintf("%d critical resolved", cbrCrit)) {
		t.Fatalf("resolved %d of %d: %q", res.Resolved, cbrCrit, w.notifier.subjects[2])
	}
	_, _ = w.job.Run(ctx, audit.Request{})
	pages(3, "same state again")
}

// A refused or unreadable baseline is not a clean slate: the findings are
// written, nothing is marked new or paged again, and the run fails saying so.
func TestUnreadableBaseline(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct{ name, key, body string }{
		{"latest refused", "audit/latest.json", ""},
		{"latest corrupt", "audit/latest.json", "{not json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 2, 20, 0, 0)
			if _, err := w.job.Run(ctx, audit.Request{}); err != nil || len(w.notifier.subjects) != 1 {
				t.Fatalf("first run: %v, %d messages", err, len(w.notifier.subjects))
			}
			if tt.body != "" {
				_ = w.store.Put(ctx, tt.key, strings.NewReader(tt.body), objstore.PutOptions{})
			} else {
				w.job.Store = refusingStore{Store: w.store, refuse: map[string]bool{tt.key: true}}
			}
			var logs bytes.Buffer
			w.job.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			res, err := w.job.Run(ctx, audit.Request{})
			if err == nil || !strings.Contains(err.Error(), "baseline unreadable") {
				t.Fatalf("err %v", err)
			}
			fs := w.findings(t, res)
			for _, f := range fs {
				if f.New {
					t.Fatalf("marked new with no readable baseline: %+v", f)
				}
			}
			if len(fs) == 0 || res.New != 0 || len(w.notifier.subjects) != 1 || strings.Count(logs.String(), "baseline unreadable") != 1 {
				t.Fatalf("%d findings, %d new, %d messages, logs %s", len(fs), res.New, len(w.notifier.subjects), logs.String())
			}
		})
	}
}

// A refused announced record: findings written, nothing announced (a page
// sent twice is what the record exists to prevent), one log line, an error.
func TestRefusedAnnouncedRecord(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2, 20, 0, 0)
	w.job.Store = refusingStore{Store: w.store, refuse: map[string]bool{"audit/announced.json": true}}
	var logs bytes.Buffer
	w.job.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	res, err := w.job.Run(ctx, audit.Request{})
	if err == nil || !errors.Is(err, errAccessDenied) || !strings.Contains(err.Error(), "nothing announced") {
		t.Fatalf("err %v", err)
	}
	if len(w.findings(t, res)) == 0 || res.NewCritical == 0 || len(w.notifier.subjects) != 0 || res.Notified {
		t.Fatalf("%+v, %d messages", res, len(w.notifier.subjects))
	}
	lines := 0
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "announced.json") {
			lines++
		}
	}
	if n := lines; n != 1 {
		t.Fatalf("%d log lines name the record: %s", n, logs.String())
	}
	// The record readable again: the criticals are announced then, once.
	w.job.Store = w.store
	if _, err := w.job.Run(ctx, audit.Request{}); err != nil || len(w.notifier.subjects) != 1 {
		t.Fatalf("after: %v, %d messages", err, len(w.notifier.subjects))
	}
}

// RenotifyAfter: criticals still open are announced again once it has passed.
func TestRenotify(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2, 20, 0, 0)
	clock := now
	w.job.Now = func() time.Time { return clock }
	w.job.RenotifyAfter = 24 * time.Hour
	// The clock moves: no finding may turn stale meanwhile.
	w.job.Rules.MaxHoursWithoutRun, w.job.Rules.MaxHoursWithoutSuccess, w.job.Rules.AgentOfflineHours = 1000, 1000, 1000
	for i, tt := range []struct {
		advance time.Duration
		want    int
	}{{0, 1}, {23 * time.Hour, 1}, {time.Hour, 2}, {time.Hour, 2}} {
		clock = clock.Add(tt.advance)
		res, err := w.job.Run(ctx, audit.Request{})
		if err != nil || len(w.notifier.subjects) != tt.want {
			t.Fatalf("run %d: %v, %d messages, want %d", i, err, len(w.notifier.subjects), tt.want)
		}
		if tt.want == 2 && i == 2 && (res.Reminded == 0 || !strings.Contains(w.notifier.subjects[1], "still open")) {
			t.Fatalf("reminder %+v %q", res, w.notifier.subjects[1])
		}
	}
}

// An evidence endpoint down (tasks here) hides findings without failing the
// provider: what it hid is not announced as resolved, the baseline does not
// move (first sightings stay), and when it is back nothing is paged again.
func TestEvidenceDownResolvesNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 3, 20, 0, 0)
	first, err := w.job.Run(ctx, audit.Request{})
	if err != nil || len(w.notifier.subjects) != 1 {
		t.Fatalf("first run: %v, messages %q", err, w.notifier.subjects)
	}
	w.sim.SetFaults(acronistest.Faults{Rate5xx: 1, PathPrefix: "/api/task_manager/"})
	down, err := w.job.Run(ctx, audit.Request{})
	if err != nil || len(down.Providers[audit.Acronis].Problems) == 0 {
		t.Fatalf("tasks down: %v, problems %v", err, down.Providers[audit.Acronis].Problems)
	}
	if len(w.notifier.subjects) != 1 || down.Resolved != 0 {
		t.Fatalf("tasks down: resolved %d, messages %q", down.Resolved, w.notifier.subjects)
	}
	w.sim.SetFaults(acronistest.Faults{})
	back, err := w.job.Run(ctx, audit.Request{})
	if err != nil || len(w.notifier.subjects) != 1 || back.NewCritical != 0 {
		t.Fatalf("tasks back: %v, %d new critical, messages %q", err, back.NewCritical, w.notifier.subjects)
	}
	firstSeen := map[string]time.Time{}
	for _, f := range w.findings(t, first) {
		firstSeen[f.Key] = f.FirstSeen
	}
	for _, f := range w.findings(t, back) {
		if want, ok := firstSeen[f.Key]; ok && !f.FirstSeen.Equal(want) {
			t.Fatalf("%s: first seen %v, was %v", f.Key, f.FirstSeen, want)
		}
	}
}
