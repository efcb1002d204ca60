package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/acp-serverless/acp-serverless/shared/objstore/objstoretest"
	"github.com/acp-serverless/acp-serverless/shared/reports"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var now = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
		check               func(s reports.Spec) bool
	}{
		{"defaults: last month's summary", `{}`, "", func(s reports.Spec) bool {
			return s.Kind == "usage_summary" && s.Period.Start == "2026-10-01" && s.Period.End == "2026-10-31" && s.Date == "2026-10-01"
		}},
		{"current usage has no period", `{"kind":"usage_current","period":"last_month"}`, "", func(s reports.Spec) bool { return s.Period == nil && s.Date == "2026-11-22" }},
		{"explicit period and formats", `{"kind":"usage_daily","period":{"start":"2026-11-01","end":"2026-11-15"},"formats":["csv","json_v2_0"],"show_skus":true}`, "", func(s reports.Spec) bool {
			return s.Period.End == "2026-11-15" && len(s.Formats) == 2 && s.ShowSkus
		}},
		{"yesterday", `{"kind":"usage_daily","period":"yesterday"}`, "", func(s reports.Spec) bool { return s.Period.Start == "2026-11-21" && s.Period.End == "2026-11-21" }},
		{"by report id", `{"report_id":"0b6f3a8e-2a7d-4f3e-9a51-5b1c2d3e4f50"}`, "", func(s reports.Spec) bool { return s.ReportID != "" }},
		{"bad kind", `{"kind":"usage_everything"}`, `field "kind"`, nil},
		{"bad level", `{"level":"galaxy"}`, `field "level"`, nil},
		{"bad format", `{"formats":["pdf"]}`, `field "formats": "pdf"`, nil},
		{"format twice", `{"formats":["csv","csv"]}`, `twice`, nil},
		{"only a format the stored list never shows", `{"formats":["json_v2_0"]}`, `field "formats": json_v2_0 never appear`, nil},
		{"bad preset", `{"period":"last_year"}`, `field "period"`, nil},
		{"end before start", `{"period":{"start":"2026-11-02","end":"2026-11-01"}}`, `end is before start`, nil},
		{"bad date", `{"period":{"start":"2026-13-01","end":"2026-11-01"}}`, `start "2026-13-01"`, nil},
		{"unknown field", `{"kinds":"usage_summary"}`, `unknown field "kinds"`, nil},
		{"bad report id", `{"report_id":"42"}`, `field "report_id"`, nil},
		{"not json", `[1]`, `report request`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := reports.ParseRequest([]byte(tt.body), reports.Request{}, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(s) {
				t.Fatalf("spec %+v, err %v", s, err)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{}`, `{"kind":"usage_daily","period":{"start":"2026-11-01","end":"2026-11-15"}}`, `{"period":"last_month"}`, `{"report_id":"x"}`, `{"formats":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := reports.ParseRequest(b, reports.Request{}, now)
		if err != nil || s.ReportID != "" {
			return
		}
		if len(s.Formats) == 0 || s.Date == "" || (s.Kind != "usage_current") != (s.Period != nil) {
			t.Fatalf("accepted an incomplete spec %+v from %q", s, b)
		}
	})
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	sim   *acronistest.Server
	clock *clock
	store objstore.Store
	job   *reports.Job
}

func setup(t *testing.T, b acronistest.ReportBehavior, store objstore.Store) *env {
	t.Helper()
	c := &clock{t: time.Now()}
	sim := acronistest.NewServer(t, acronistest.Config{Now: c.Now})
	sim.SetReportBehavior(b)
	sim.GenerateTree(2, 4, 0) // reports are built from the tree's customers
	id, secret := sim.AddAPIClient("")
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{Retry: httpretry.Policy{MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	src := acronis.NewCachedSource(&acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: id, ClientSecret: secret}, HTTP: hc}, 0)
	src.SetClock(c.Now)
	client, _ := acronis.NewClient(sim.URL(), src, hc)
	if store == nil {
		store = &objstore.Dir{Root: t.TempDir()}
	}
	e := &env{sim: sim, clock: c, store: store}
	// Each wait advances the simulator's clock instead of sleeping.
	e.job = &reports.Job{Client: client, Store: store, Root: acronis.RootTenant{ID: sim.RootTenantID()}, Now: c.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		PollMin: time.Second, PollMax: 8 * time.Second, Reserve: time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error { c.Add(d); return nil }}
	return e
}

func (e *env) spec(t *testing.T, body string) reports.Spec {
	t.Helper()
	s, err := reports.ParseRequest([]byte(body), reports.Request{}, now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) content(t *testing.T, key string) []byte {
	t.Helper()
	rc, err := e.store.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

// expected is what the simulator serves for a report's format, uncompressed.
func (e *env) expected(t *testing.T, reportID, format string) []byte {
	t.Helper()
	r, err := e.sim.StoredReportContent(reportID, format)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	return b
}

func (e *env) posts() int { return e.sim.CountRequests("POST", "/api/2/reports") }

func storedIDs(t *testing.T, e *env, reportID string) map[string]string {
	out := map[string]string{}
	items, err := e.job.Client.StoredReports(context.Background(), reportID)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		out[it.ReportFormat] = it.ID
	}
	return out
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	t.Run("created, waited for, both formats stored", func(t *testing.T) {
		e := setup(t, acronistest.ReportBehavior{ListDelay: 3 * time.Second, Generation: 20 * time.Second, Size: 300 << 10}, nil)
		res, err := e.job.Run(ctx, e.spec(t, `{"formats":["csv","json_v1"],"show_skus":true}`))
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != "stored" || !res.Created || len(res.Objects) != 2 || e.posts() != 1 {
			t.Fatalf("result %+v, %d creates", res, e.posts())
		}
		storedIDs(t, e, res.ReportID) // counted below, as before
		for _, o := range res.Objects {
			if !strings.HasPrefix(o.Key, "reports/kind=usage_summary/dt=2026-10-01/"+res.ReportID+".") {
				t.Fatalf("key %s", o.Key)
			}
			want := e.expected(t, res.ReportID, o.Format)
			if got := e.content(t, o.Key); !bytes.Equal(got, want) || o.Bytes != int64(len(want)) || o.Bytes < 300<<10 {
				t.Fatalf("%s: stored %d bytes that differ from the report", o.Key, len(got))
			}
			meta, err := e.store.(*objstore.Dir).Metadata(o.Key)
			if err != nil || meta.Metadata["report-id"] != res.ReportID || meta.Metadata["format"] != o.Format || meta.Metadata["period"] != "2026-10-01..2026-10-31" {
				t.Fatalf("metadata %+v %v", meta, err)
			}
		}
		// Polls grew (0, 1, 3, 7, 15, 23 s): not one poll a second.
		polls := 0
		for _, r := range e.sim.Requests() {
			if r.Path == "/api/2/reports/"+res.ReportID+"/stored" {
				polls++
			}
		}
		if polls != 6+1 { // six waits' polls, and the test's own look-up above
			t.Fatalf("%d polls for 23 s of generation, want 7", polls)
		}
		again, err := e.job.Run(ctx, e.spec(t, `{"formats":["csv","json_v1"],"show_skus":true}`))
		if err != nil || again.Status != "already_stored" || e.posts() != 1 {
			t.Fatalf("re-run: %+v %v, %d creates", again, err, e.posts())
		}
	})
	t.Run("a failed format is an error that names it", func(t *testing.T) {
		e := setup(t, acronistest.ReportBehavior{Generation: time.Second, FailFormats: map[string]bool{"csv": true}}, nil)
		res, err := e.job.Run(ctx, e.spec(t, `{"formats":["csv","csv_v2_0"]}`))
		if err == nil || !strings.Contains(err.Error(), res.ReportID) || !strings.Contains(err.Error(), "format(s) csv") {
			t.Fatalf("err %v", err)
		}
		if len(res.Objects) != 1 || res.Objects[0].Format != "csv_v2_0" {
			t.Fatalf("the saved format was not stored: %+v", res)
		}
		// The next run creates a new report rather than waiting on the failed one.
		if _, err := e.job.Run(ctx, e.spec(t, `{"formats":["csv","csv_v2_0"]}`)); err == nil || e.posts() != 2 {
			t.Fatalf("re-run after failure: %v, %d creates", err, e.posts())
		}
	})
	t.Run("not ready by the deadline: pending, then resumed without a second report", func(t *testing.T) {
		e := setup(t, acronistest.ReportBehavior{Generation: time.Hour}, nil)
		e.job.Reserve = time.Minute
		short, cancel := context.WithTimeout(ctx, 90*time.Second) // real time: only the reserve check uses it
		defer cancel()
		e.job.PollMin = 40 * time.Second
		res, err := e.job.Run(short, e.spec(t, `{"kind":"usage_current"}`))
		if !errors.Is(err, reports.ErrPending) || res.Status != "pending" {
			t.Fatalf("err %v, res %+v; want pending", err, res)
		}
		e.job.PollMin = time.Second
		e.clock.Add(2 * time.Hour)
		res2, err := e.job.Run(ctx, e.spec(t, `{"kind":"usage_current"}`))
		if err != nil || res2.ReportID != res.ReportID || res2.Created || e.posts() != 1 {
			t.Fatalf("resume: %+v %v, %d creates", res2, err, e.posts())
		}
	})
	t.Run("by report id", func(t *testing.T) {
		e := setup(t, acronistest.ReportBehavior{Generation: time.Second}, nil)
		rep, err := e.job.Client.CreateReport(ctx, acronis.ReportPost{Recipients: []string{}, ResultAction: "save", Schedule: acronis.ReportSchedule{Type: "once"},
			Parameters: acronis.ReportParameters{TenantID: e.sim.RootTenantID(), Level: "accounts", Kind: "usage_daily", Formats: []string{"html"},
				Period: &acronis.ReportPeriod{Start: "2026-11-01", End: "2026-11-10"}}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.job.Run(ctx, e.spec(t, `{"report_id":"`+rep.ID+`"}`))
		if err != nil || len(res.Objects) != 1 || res.Objects[0].Key != "reports/kind=usage_daily/dt=2026-11-01/"+rep.ID+".html" || e.posts() != 1 {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("token expires mid-wait", func(t *testing.T) {
		e := setup(t, acronistest.ReportBehavior{Generation: 10 * time.Second}, nil)
		inner := e.job.Sleep
		e.job.Sleep = func(ctx context.Context, d time.Duration) error { e.sim.ExpireTokens(); return inner(ctx, d) }
		if _, err := e.job.Run(ctx, e.spec(t, `{}`)); err != nil {
			t.Fatal(err)
		}
		if n := e.sim.CountRequests("POST", acronis.TokenPath); n < 2 {
			t.Fatalf("%d token requests; the expiry was not exercised", n)
		}
	})
}

// The same job against moto's S3: multipart upload, metadata on the object.
func TestToS3(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	client := awsenv.S3(moto.Config())
	bucket := mototest.Name("reports")
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	// A third of the downloads cut: the resumed stream is still one upload.
	e := setup(t, acronistest.ReportBehavior{Generation: time.Second, Size: 12 << 20, CutRate: 0.3}, &objstore.S3{Client: client, Bucket: bucket})
	res, err := e.job.Run(ctx, e.spec(t, `{"formats":["csv_v2_0"]}`))
	if err != nil {
		t.Fatal(err)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(res.Objects[0].Key)})
	if err != nil {
		t.Fatal(err)
	}
	want := e.expected(t, res.ReportID, "csv_v2_0")
	if got := e.content(t, res.Objects[0].Key); !bytes.Equal(got, want) {
		t.Fatalf("stored %d bytes that differ from the report's %d", len(got), len(want))
	}
	if aws.ToInt64(head.ContentLength) != int64(len(want)) || head.Metadata["report-id"] != res.ReportID || head.Metadata["kind"] != "usage_summary" {
		t.Fatalf("head %d bytes, metadata %v", aws.ToInt64(head.ContentLength), head.Metadata)
	}
	var keys []string
	for k, err := range e.store.List(ctx, "reports/_pending/") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if len(keys) != 1 {
		t.Fatalf("pending records %v", keys)
	}
	r, _ := e.store.Get(ctx, keys[0])
	var rec map[string]any
	_ = json.NewDecoder(r).Decode(&rec)
	r.Close()
	if rec["state"] != "done" {
		t.Fatalf("record %v", rec)
	}
}

// S3 answers a read of a missing key with 403 when the role lacks
// s3:ListBucket; the job must not take that for "no pending record" (it
// would create a second report each run): it fails, naming the key and the
// permission, and creates nothing.
func TestRefusedPendingRecord(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	bucket := mototest.Name("deny")
	if _, err := awsenv.S3(moto.Config()).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	cfg := moto.Config()
	cfg.BaseEndpoint = aws.String(objstoretest.DenyMissingKeys(t, moto.Endpoint))
	e := setup(t, acronistest.ReportBehavior{Generation: time.Second}, &objstore.S3{Client: awsenv.S3(cfg), Bucket: bucket})
	res, err := e.job.Run(ctx, e.spec(t, `{"formats":["csv"]}`))
	if err == nil || !errors.Is(err, objstore.ErrAccessDenied) {
		t.Fatalf("run with a refused pending record: %+v, err %v", res, err)
	}
	for _, want := range []string{"reports/_pending/", "s3:ListBucket"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	if n := e.posts(); n != 0 {
		t.Fatalf("%d reports created after a refusal", n)
	}
	for k, err := range (&objstore.S3{Client: awsenv.S3(moto.Config()), Bucket: bucket}).List(ctx, "reports/") {
		t.Fatalf("object %s (%v) written after a refusal", k, err)
	}
}
