package usage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
)

// Prefix is where snapshots live in the bucket (IAM grants only this).
const Prefix = "usage/"

// Defaults.
const (
	DefaultWorkers   = 4
	DefaultPartBytes = 64 << 20 // uncompressed bytes per part (~5-8 MiB gzip)
	DefaultPageLimit = 500
	maxListedGone    = 100
)

// API is what the job needs from Acronis (an *acronis.Client).
type API interface {
	ListTenants(ctx context.Context, f acronis.TenantFilter) iter.Seq2[[]acronis.Tenant, error]
	EachTenantUsage(ctx context.Context, ids []string, fn func(acronis.TenantUsage) error) error
	TenantUsages(ctx context.Context, id string) ([]acronis.Usage, error)
}

var _ API = (*acronis.Client)(nil)

// Job takes usage snapshots.
type Job struct {
	API   API
	Store objstore.Store
	Log   *slog.Logger
	// Root resolves the request's root_tenant_id, else ROOT_TENANT_ID, else
	// the token's owner_tuid.
	Root      acronis.RootTenant
	Workers   int   // batch calls in flight
	PartBytes int64 // uncompressed bytes per part before rolling over
	PageLimit int   // tenants per list page asked for
	Now       func() time.Time
}

// Result is the function's answer (and what the manifest holds).
type Result struct {
	RunID              string     `json:"run_id"`
	Date               string     `json:"date"`
	RootTenantID       string     `json:"root_tenant_id"`
	Complete           bool       `json:"complete"`
	Error              string     `json:"error,omitempty"`
	StartedAt          time.Time  `json:"started_at"`
	FinishedAt         time.Time  `json:"finished_at"`
	Tenants            int64      `json:"tenants"`
	TenantsWithoutData int64      `json:"tenants_without_usage"`
	TenantsGone        int64      `json:"tenants_gone"`
	GoneTenantIDs      []string   `json:"gone_tenant_ids,omitempty"`
	DuplicatesSkipped  int64      `json:"duplicates_skipped"`
	Items              int64      `json:"items"`
	Parts              []PartInfo `json:"parts"`
	Manifest           string     `json:"manifest"`
	SchemaVersion      int        `json:"schema_version"`
}

// Line is one usage item as stored: the tenant it belongs to, then the item.
// Numbers are written exactly as the platform sent them.
type Line struct {
	SnapshotDate    string       `json:"snapshot_date"`
	RunID           string       `json:"run_id"`
	CollectedAt     string       `json:"collected_at"`
	TenantUUID      string       `json:"tenant_uuid"`
	TenantLegacyID  string       `json:"tenant_legacy_id,omitempty"`
	TenantName      string       `json:"tenant_name"`
	TenantKind      string       `json:"tenant_kind"`
	ParentID        string       `json:"parent_id"`
	CustomerID      string       `json:"customer_id,omitempty"` // the CRM's id, when set
	ApplicationID   string       `json:"application_id"`
	Name            string       `json:"name"`
	UsageName       string       `json:"usage_name"`
	Edition         string       `json:"edition,omitempty"`
	Type            string       `json:"type"`
	MeasurementUnit string       `json:"measurement_unit"`
	InfraID         string       `json:"infra_id,omitempty"`
	RangeStart      string       `json:"range_start"`
	Value           json.Number  `json:"value"`
	AbsoluteValue   json.Number  `json:"absolute_value,omitempty"`
	OfferingStatus  json.Number  `json:"offering_item_status,omitempty"`
	QuotaValue      *json.Number `json:"quota_value,omitempty"`
	QuotaOverage    *json.Number `json:"quota_overage,omitempty"`
	QuotaVersion    json.Number  `json:"quota_version,omitempty"`
}

// NewRunID is time-sortable (UTC to the second) with a random suffix, so
// re-runs of a date never collide and list in the order they ran.
func NewRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// RunPrefix is the folder of one run.
func RunPrefix(date, runID string) string {
	return fmt.Sprintf("%sdt=%s/run=%s/", Prefix, date, runID)
}

// RunsIndexKey is where a run's manifest is repeated for the Athena runs table
// (Athena skips files whose names start with "_", like _manifest.json).
func RunsIndexKey(date, runID string) string {
	return fmt.Sprintf("%sruns/dt=%s/%s.json", Prefix, date, runID)
}

func (j *Job) now() time.Time {
	if j.Now != nil {
		return j.Now().UTC()
	}
	return time.Now().UTC()
}

func (j *Job) log() *slog.Logger {
	if j.Log != nil {
		return j.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run takes one snapshot. On failure it writes a manifest with complete=false
// and the error (when the store still answers) and returns the error: a
// reader trusts a run only if its manifest says complete.
func (j *Job) Run(ctx context.Context, req Request) (Result, error) {
	start := j.now()
	req = req.Resolve(start)
	if err := req.Validate(start); err != nil {
		return Result{}, err
	}
	res := Result{Date: req.Date, RootTenantID: req.RootTenantID, StartedAt: start, SchemaVersion: 1, Parts: []PartInfo{}}
	if res.Date == "" {
		res.Date = start.Format(time.DateOnly)
	}
	root, err := j.Root.Resolve(ctx, req.RootTenantID)
	if err != nil {
		return Result{}, fmt.Errorf("usage: %w", err)
	}
	res.RootTenantID = root
	res.RunID = NewRunID(start)
	prefix := RunPrefix(res.Date, res.RunID)
	res.Manifest = prefix + "_manifest.json"
	log := j.log().With("run_id", res.RunID, "date", res.Date, "root_tenant_id", res.RootTenantID)
	log.InfoContext(ctx, "usage snapshot started")

	runErr := j.collectInTime(ctx, &res, prefix)
	return j.finish(ctx, log, res, runErr)
}

// collectInTime collects, stopping a little before the invocation's
// deadline so the manifest saying the run is incomplete still gets written.
func (j *Job) collectInTime(ctx context.Context, res *Result, prefix string) error {
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(20*time.Second, time.Until(dl)/10)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}
	return j.collect(ctx, res, prefix)
}

// finish records how the run ended and writes its manifest: last, and even
// when the context is done, so a failed run says it failed.
func (j *Job) finish(ctx context.Context, log *slog.Logger, res Result, runErr error) (Result, error) {
	res.FinishedAt = j.now()
	res.Complete = runErr == nil
	if runErr != nil {
		res.Error = runErr.Error()
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := j.writeManifest(mctx, res, RunPrefix(res.Date, res.RunID)); err != nil {
		log.ErrorContext(ctx, "manifest not written", "error", err.Error())
		if runErr == nil {
			runErr = err
			res.Complete = false
			res.Error = err.Error()
		}
	}
	if runErr != nil {
		log.ErrorContext(ctx, "usage snapshot failed", "error", runErr.Error(), "tenants", res.Tenants, "items", res.Items)
		return res, fmt.Errorf("usage snapshot %s: %w", res.RunID, runErr)
	}
	log.InfoContext(ctx, "usage snapshot done", "tenants", res.Tenants, "items", res.Items, "parts", len(res.Parts),
		"duration_ms", res.FinishedAt.Sub(res.StartedAt).Milliseconds())
	return res, nil
}

func (j *Job) writeManifest(ctx context.Context, res Result, prefix string) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	opts := objstore.PutOptions{ContentType: "application/json"}
	if err := j.Store.PutIfAbsent(ctx, prefix+"_manifest.json", bytes.NewReader(b), opts); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := j.Store.PutIfAbsent(ctx, RunsIndexKey(res.Date, res.RunID), bytes.NewReader(append(b, '\n')), opts); err != nil {
		return fmt.Errorf("write runs index: %w", err)
	}
	return nil
}

func makeLine(res *Result, collected string, t acronis.Tenant, u acronis.Usage) Line {
	l := Line{
		SnapshotDate: res.Date, RunID: res.RunID, CollectedAt: collected,
		TenantUUID: t.ID, TenantLegacyID: string(u.TenantID), TenantName: t.Name, TenantKind: t.Kind, ParentID: t.ParentID,
		ApplicationID: u.ApplicationID, Name: u.Name, UsageName: u.UsageName, Type: u.Type,
		MeasurementUnit: u.MeasurementUnit, InfraID: u.InfraID, RangeStart: u.RangeStart,
		Value: u.Value, AbsoluteValue: u.AbsoluteValue,
	}
	if t.CustomerID != nil {
		l.CustomerID = *t.CustomerID
	}
	if u.Edition != nil {
		l.Edition = *u.Edition
	}
	if oi := u.OfferingItem; oi != nil {
		l.OfferingStatus = oi.Status
		if q := oi.Quota; q != nil {
			l.QuotaValue, l.QuotaOverage, l.QuotaVersion = q.Value, q.Overage, q.Version
		}
	}
	return l
}

// uuidKey packs a lower-case 8-4-4-4-12 UUID into 16 bytes.
func uuidKey(id string) ([16]byte, bool) {
	var k [16]byte
	if acronis.CheckUUID(id) != nil {
		return k, false
	}
	h := strings.ReplaceAll(id, "-", "")
	if _, err := hex.Decode(k[:], []byte(h)); err != nil {
		return k, false
	}
	return k, true
}
