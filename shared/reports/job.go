package reports

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
)

// ErrPending means the report was not ready before the deadline; it is
// recorded and the next run (or {"report_id": ...}) picks it up.
var ErrPending = errors.New("report not ready yet")

// Job downloads reports.
type Job struct {
	Client *acronis.Client
	Store  objstore.Store
	Log    *slog.Logger
	Now    func() time.Time
	// Root resolves the request's tenant_id, else REPORT_TENANT_ID, else
	// the token's owner_tuid.
	Root    acronis.RootTenant
	PollMin time.Duration // first wait (default 2s); doubles up to PollMax
	PollMax time.Duration // default 30s
	// Reserve is kept free before the deadline: once waiting would eat into
	// it, the report is recorded as pending (default 60s, time for downloads).
	Reserve time.Duration
	// A cut download resumes after ResumeMin (default 500ms), doubling up
	// to ResumeMax (default 20s) while answers add nothing, jittered; it
	// gives up after ResumeStalls such answers in a row (default 5), or
	// when the next wait would pass the context's deadline.
	ResumeMin, ResumeMax time.Duration
	ResumeStalls         int
	// Sleep waits (tests replace it); default a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Object is one stored format.
type Object struct {
	Key    string `json:"key"`
	Format string `json:"format"`
	Bytes  int64  `json:"bytes"`
}

// Result is the function's output.
type Result struct {
	ReportID string   `json:"report_id"`
	Kind     string   `json:"kind"`
	Period   string   `json:"period,omitempty"`
	Status   string   `json:"status"` // stored, pending, already_stored
	Created  bool     `json:"created"`
	Objects  []Object `json:"objects,omitempty"`
	Failed   []string `json:"failed_formats,omitempty"`
	// Missing lists requested formats no stored item ever matched: the
	// stored list's documented formats do not include them (json_v2_0).
	Missing []string `json:"missing_formats,omitempty"`
}

// pending is the record kept under reports/_pending/<request key>.json.
type pending struct {
	ReportID  string    `json:"report_id"`
	Kind      string    `json:"kind"`
	Level     string    `json:"level"`
	Formats   []string  `json:"formats"`
	Period    string    `json:"period,omitempty"`
	TenantID  string    `json:"tenant_id"`
	Date      string    `json:"dt"`
	State     string    `json:"state"` // waiting, done, failed
	CreatedAt time.Time `json:"created_at"`
	Objects   []Object  `json:"objects,omitempty"`
	Missing   []string  `json:"missing_formats,omitempty"`
}

func (j *Job) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

func (j *Job) log() *slog.Logger {
	if j.Log != nil {
		return j.Log
	}
	return slog.Default()
}

const pendingPrefix = "reports/_pending/"

func pendingKey(key string) string { return pendingPrefix + key + ".json" }

// Run creates (or resumes) the report, waits for it and stores every saved
// format. A failed format ends the run with an error naming it, after the
// saved ones are stored.
func (j *Job) Run(ctx context.Context, s Spec) (Result, error) {
	if s.ReportID != "" {
		return j.resumeByID(ctx, s.ReportID)
	}
	tenant, err := j.Root.Resolve(ctx, s.TenantID)
	if err != nil {
		return Result{}, fmt.Errorf("report: %w", err)
	}
	s.TenantID = tenant
	key := s.Key()
	rec, err := j.readPending(ctx, key)
	switch {
	case err == nil && rec.State == "done":
		return Result{ReportID: rec.ReportID, Kind: rec.Kind, Period: rec.Period, Status: "already_stored", Objects: rec.Objects, Missing: rec.Missing}, nil
	case err == nil && rec.State == "waiting":
		j.log().InfoContext(ctx, "resuming pending report", "report_id", rec.ReportID, "kind", rec.Kind)
		return j.finish(ctx, key, rec, false)
	case errors.Is(err, objstore.ErrAccessDenied):
		// Never "no record": S3 refuses a missing key with 403 when the role
		// lacks s3:ListBucket, and a present record would be overwritten by a
		// second report.
		return Result{}, fmt.Errorf("report: read pending record %s: %w; the role probably lacks s3:ListBucket on the prefix %s (without it S3 answers 403, not 404, for a missing key); no report created",
			pendingKey(key), err, pendingPrefix)
	case err != nil && !errors.Is(err, objstore.ErrNotFound):
		return Result{}, err
	}
	// No record, or the last attempt failed: create a report.
	post := acronis.ReportPost{Recipients: []string{}, ResultAction: "save", Schedule: acronis.ReportSchedule{Type: "once"},
		Parameters: acronis.ReportParameters{TenantID: s.TenantID, Level: s.Level, Kind: s.Kind, Formats: s.Formats,
			Period: s.Period, HideZeroUsage: s.HideZeroUsage, ShowSkus: s.ShowSkus}}
	rep, err := j.Client.CreateReport(ctx, post)
	if err != nil {
		return Result{}, fmt.Errorf("report: create %s: %w", s.Kind, err)
	}
	rec = pending{ReportID: rep.ID, Kind: s.Kind, Level: s.Level, Formats: s.Formats, TenantID: s.TenantID,
		Date: s.Date, State: "waiting", CreatedAt: j.now().UTC()}
	if s.Period != nil {
		rec.Period = s.Period.Start + ".." + s.Period.End
	}
	// Recorded before waiting: if this run dies, the next one resumes it.
	if err := j.writePending(ctx, key, rec); err != nil {
		return Result{}, fmt.Errorf("report %s created but not recorded: %w", rep.ID, err)
	}
	j.log().InfoContext(ctx, "report created", "report_id", rep.ID, "kind", s.Kind, "formats", s.Formats)
	return j.finish(ctx, key, rec, true)
}

// resumeByID fetches a report named by the operator; its parameters come
// from the API.
func (j *Job) resumeByID(ctx context.Context, id string) (Result, error) {
	rep, err := j.Client.GetReport(ctx, id)
	if err != nil {
		return Result{}, fmt.Errorf("report %s: %w", id, err)
	}
	p := rep.Parameters
	rec := pending{ReportID: id, Kind: p.Kind, Level: p.Level, Formats: p.Formats, TenantID: p.TenantID, State: "waiting",
		Date: rep.GenerationDate, CreatedAt: j.now().UTC()}
	if p.Period != nil && p.Kind != "usage_current" {
		rec.Period, rec.Date = p.Period.Start+".."+p.Period.End, p.Period.Start
	}
	if rec.Date == "" {
		rec.Date = j.now().UTC().Format(time.DateOnly)
	}
	return j.finish(ctx, "id-"+id, rec, false)
}

func (j *Job) finish(ctx context.Context, key string, rec pending, created bool) (Result, error) {
	res := Result{ReportID: rec.ReportID, Kind: rec.Kind, Period: rec.Period, Created: created}
	stored, missing, err := j.wait(ctx, rec)
	if errors.Is(err, ErrPending) {
		res.Status = "pending"
		if werr := j.writePending(ctx, key, rec); werr != nil {
			return res, fmt.Errorf("report %s: not ready and not recorded: %w", rec.ReportID, werr)
		}
		return res, fmt.Errorf("report %s (%s): %w; recorded under %s, the next run or {\"report_id\": %q} resumes it",
			rec.ReportID, rec.Kind, ErrPending, pendingKey(key), rec.ReportID)
	}
	if err != nil {
		return res, err
	}
	for _, sr := range stored {
		if sr.Status == acronis.ReportFailed {
			res.Failed = append(res.Failed, sr.ReportFormat)
			continue
		}
		obj, err := j.download(ctx, rec, sr)
		if err != nil {
			return res, err // the record stays "waiting": a re-run downloads again
		}
		res.Objects = append(res.Objects, obj)
	}
	rec.Objects, rec.Missing = res.Objects, missing
	res.Missing = missing
	if len(missing) > 0 {
		j.log().WarnContext(ctx, "requested formats never listed as stored", "report_id", rec.ReportID, "missing_formats", missing,
			"documented", acronis.StoredReportFormats)
	}
	rec.State = "done"
	if len(res.Failed) > 0 {
		rec.State = "failed" // the next run creates a new report
	}
	if err := j.writePending(ctx, key, rec); err != nil {
		return res, err
	}
	if len(res.Failed) > 0 {
		return res, fmt.Errorf("report %s (%s): generation failed for format(s) %s", rec.ReportID, rec.Kind, strings.Join(res.Failed, ", "))
	}
	res.Status = "stored"
	return res, nil
}

// wait polls the stored list until every requested format is saved or
// failed, with growing intervals, and gives up with ErrPending when the
// next wait would eat into the reserve before the deadline. A requested
// format outside the stored list's documented enum (json_v2_0) may never be
// listed: it is matched if it shows up, never waited for, and returned as
// missing once the others are settled.
func (j *Job) wait(ctx context.Context, rec pending) ([]acronis.StoredReport, []string, error) {
	if !slices.ContainsFunc(rec.Formats, storable) {
		return nil, nil, fmt.Errorf("report %s: none of the formats %s is a stored-report format (%s): nothing would ever be listed",
			rec.ReportID, strings.Join(rec.Formats, ", "), strings.Join(acronis.StoredReportFormats, ", "))
	}
	sleep := j.sleep()
	deadline := deadlineOf(ctx)
	wait, reserve := cmp.Or(j.PollMin, 2*time.Second), cmp.Or(j.Reserve, time.Minute)
	for polls := 1; ; polls++ {
		items, err := j.Client.StoredReports(ctx, rec.ReportID)
		if err != nil {
			return nil, nil, fmt.Errorf("report %s: stored list: %w", rec.ReportID, err)
		}
		out, missing, done, err := settle(rec, items)
		if err != nil || done {
			j.log().InfoContext(ctx, "report ready", "report_id", rec.ReportID, "polls", polls)
			return out, missing, err
		}
		if time.Until(deadline) < reserve+wait {
			return nil, nil, ErrPending
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, nil, ErrPending
		}
		wait = min(wait*2, cmp.Or(j.PollMax, 30*time.Second))
	}
}

func storable(format string) bool { return slices.Contains(acronis.StoredReportFormats, format) }

// settle matches the stored list with the requested formats: done when
// every format that can be listed is saved or failed.
func settle(rec pending, items []acronis.StoredReport) (out []acronis.StoredReport, missing []string, done bool, err error) {
	byFormat := map[string]acronis.StoredReport{}
	for _, it := range items {
		byFormat[it.ReportFormat] = it
	}
	done = true
	for _, f := range rec.Formats {
		it, ok := byFormat[f]
		switch {
		case !ok && !storable(f):
			missing = append(missing, f)
		case !ok || it.Status == acronis.ReportInProgress:
			done = false
		case it.Status == acronis.ReportSaved || it.Status == acronis.ReportFailed:
			out = append(out, it)
		default:
			return nil, nil, false, fmt.Errorf("report %s: format %s has unknown status %q", rec.ReportID, f, it.Status)
		}
	}
	return out, missing, done, nil
}

// download streams one saved format into the store, decompressed. An
// interrupted transfer resumes where it stopped (see resumer), inside the
// same upload; the object appears only when the whole body arrived intact
// (gzip CRC and length, or the declared size): a failed read fails the
// upload, which leaves nothing under the key.
func (j *Job) download(ctx context.Context, rec pending, sr acronis.StoredReport) (Object, error) {
	key := fmt.Sprintf("reports/kind=%s/dt=%s/%s.%s", rec.Kind, rec.Date, rec.ReportID, Extension(sr.ReportFormat))
	meta := map[string]string{"report-id": rec.ReportID, "kind": rec.Kind, "period": rec.Period, "tenant-id": rec.TenantID,
		"format": sr.ReportFormat, "stored-size": strconv.FormatInt(sr.Size, 10)}
	raw := j.resumer(ctx, rec.ReportID, sr)
	defer raw.Close()
	n, err := j.upload(ctx, raw, sr, key, meta)
	if err != nil {
		return Object{}, fmt.Errorf("report %s: download %s: %w", rec.ReportID, sr.ReportFormat, err)
	}
	j.log().InfoContext(ctx, "report stored", "report_id", rec.ReportID, "format", sr.ReportFormat, "key", key, "bytes", n, "requests", raw.requests)
	return Object{Key: key, Format: sr.ReportFormat, Bytes: n}, nil
}

// deadlineOf is ctx's deadline, or 15 minutes from now without one: nothing
// here waits or resumes without bound.
func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(15 * time.Minute)
}

// resumer reads one stored report, resuming cut answers. It stops a tenth of
// the time left (at most 10 s) before the deadline, requests in flight
// included, so a download that runs out of time fails with its own error
// and the upload is aborted while the invocation still lives.
func (j *Job) resumer(ctx context.Context, reportID string, sr acronis.StoredReport) *resumer {
	deadline := deadlineOf(ctx)
	deadline = deadline.Add(-min(10*time.Second, time.Until(deadline)/10))
	rctx, cancel := context.WithDeadline(ctx, deadline)
	sleep := j.sleep()
	r := &resumer{ctx: rctx, cancel: cancel, size: sr.Size, sleep: sleep, deadline: deadline,
		min: cmp.Or(j.ResumeMin, defaultResumeMin), max: cmp.Or(j.ResumeMax, defaultResumeMax), stallMax: cmp.Or(j.ResumeStalls, defaultResumeStalls),
		open: func(ctx context.Context, from int64) (*http.Response, error) {
			return j.Client.DownloadStored(ctx, reportID, sr.ID, from)
		}}
	r.onResume = func(from int64, requests int, wait time.Duration, cause error) {
		j.log().WarnContext(ctx, "report download interrupted; resuming", "report_id", reportID, "format", sr.ReportFormat,
			"from_byte", from, "requests", requests, "wait", wait.String(), "error", cause.Error())
	}
	return r
}

// upload decompresses raw (when it is gzip) into the store under key.
func (j *Job) upload(ctx context.Context, raw *resumer, sr acronis.StoredReport, key string, meta map[string]string) (int64, error) {
	br := bufio.NewReaderSize(raw, 64<<10)
	var body io.Reader = br
	magic, err := br.Peek(2)
	if err != nil && len(magic) < 2 && !errors.Is(err, io.EOF) {
		return 0, err
	}
	if bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("gzip header: %w", err)
		}
		body = zr // gzip checks CRC and length at the end: truncation is an error
	}
	out := &countingReader{r: body}
	ctype := map[string]string{"csv": "text/csv", "csv_v2_0": "text/csv", "html": "text/html", "json_v1": "application/json", "json_v2_0": "application/json"}[sr.ReportFormat]
	if err := j.Store.Put(ctx, key, out, objstore.PutOptions{ContentType: ctype, Metadata: meta}); err != nil {
		return 0, err
	}
	return out.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (j *Job) readPending(ctx context.Context, key string) (pending, error) {
	rc, err := j.Store.Get(ctx, pendingKey(key))
	if err != nil {
		return pending{}, err
	}
	defer rc.Close()
	var p pending
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&p); err != nil {
		return pending{}, fmt.Errorf("report: pending record %s: %w", pendingKey(key), err)
	}
	return p, nil
}

func (j *Job) writePending(ctx context.Context, key string, p pending) error {
	b, _ := json.MarshalIndent(p, "", "  ")
	return j.Store.Put(ctx, pendingKey(key), bytes.NewReader(b), objstore.PutOptions{ContentType: "application/json"})
}

// sleep is j.Sleep, or a timer honouring ctx.
func (j *Job) sleep() func(ctx context.Context, d time.Duration) error {
	if j.Sleep != nil {
		return j.Sleep
	}
	return httpretry.Sleep
}
