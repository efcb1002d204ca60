// Package reports is the report-download job: it creates a one-time Acronis
// usage report (or resumes one), waits for it with growing intervals and a
// bound, and streams each saved format into the object store, decompressed
// and verified, under reports/kind=<kind>/dt=<date>/<report-id>.<ext>.
package reports

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
)

// Request is the function's input. Empty fields take the deployment's
// defaults. Period is {"start","end"} (YYYY-MM-DD) or a preset:
// "last_month", "current_month", "yesterday".
type Request struct {
	Kind          string          `json:"kind,omitempty"`
	Level         string          `json:"level,omitempty"`
	Formats       []string        `json:"formats,omitempty"`
	Period        json.RawMessage `json:"period,omitempty"`
	HideZeroUsage *bool           `json:"hide_zero_usage,omitempty"`
	ShowSkus      *bool           `json:"show_skus,omitempty"`
	TenantID      string          `json:"tenant_id,omitempty"`
	ReportID      string          `json:"report_id,omitempty"` // resume or fetch an existing report
}

// Spec is a validated request.
type Spec struct {
	Kind          string
	Level         string
	Formats       []string
	Period        *acronis.ReportPeriod // nil for usage_current
	HideZeroUsage bool
	ShowSkus      bool
	TenantID      string
	ReportID      string
	Date          string // dt= partition: the period's start, else the run's date
}

// ParseRequest decodes the event strictly (unknown fields are an error that
// names them) and fills gaps from defaults.
func ParseRequest(b []byte, defaults Request, now time.Time) (Spec, error) {
	var r Request
	if len(bytes.TrimSpace(b)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return Spec{}, fmt.Errorf("report request: %w", err)
		}
	}
	return r.resolve(defaults, now)
}

func (r Request) resolve(d Request, now time.Time) (Spec, error) {
	s := Spec{Kind: cmp.Or(r.Kind, d.Kind, "usage_summary"), Level: cmp.Or(r.Level, d.Level, "all_customers"),
		TenantID: cmp.Or(r.TenantID, d.TenantID), ReportID: r.ReportID}
	s.Formats = r.Formats
	if len(s.Formats) == 0 {
		s.Formats = d.Formats
	}
	if len(s.Formats) == 0 {
		s.Formats = []string{"csv_v2_0"}
	}
	s.HideZeroUsage = boolOr(r.HideZeroUsage, d.HideZeroUsage)
	s.ShowSkus = boolOr(r.ShowSkus, d.ShowSkus)
	if s.ReportID != "" {
		if err := acronis.CheckUUID(s.ReportID); err != nil {
			return Spec{}, fmt.Errorf("report request: field \"report_id\": %w", err)
		}
		return s, nil // the report's own parameters are read from the API
	}
	switch {
	case !slices.Contains(acronis.ReportKinds, s.Kind):
		return Spec{}, fmt.Errorf("report request: field \"kind\": %q is not one of %s", s.Kind, strings.Join(acronis.ReportKinds, ", "))
	case !slices.Contains(acronis.ReportLevels, s.Level):
		return Spec{}, fmt.Errorf("report request: field \"level\": %q is not one of %s", s.Level, strings.Join(acronis.ReportLevels, ", "))
	case s.TenantID != "" && acronis.CheckUUID(s.TenantID) != nil:
		return Spec{}, fmt.Errorf("report request: field \"tenant_id\": %w", acronis.CheckUUID(s.TenantID))
	}
	seen := map[string]bool{}
	for _, f := range s.Formats {
		if !slices.Contains(acronis.ReportFormats, f) {
			return Spec{}, fmt.Errorf("report request: field \"formats\": %q is not one of %s", f, strings.Join(acronis.ReportFormats, ", "))
		}
		if seen[f] {
			return Spec{}, fmt.Errorf("report request: field \"formats\": %q twice", f)
		}
		seen[f] = true
	}
	if !slices.ContainsFunc(s.Formats, storable) {
		return Spec{}, fmt.Errorf("report request: field \"formats\": %s never appear in the stored-report list (documented formats: %s); request one of those too",
			strings.Join(s.Formats, ", "), strings.Join(acronis.StoredReportFormats, ", "))
	}
	period := r.Period
	if len(period) == 0 {
		period = d.Period
	}
	p, err := parsePeriod(period, now)
	if err != nil {
		return Spec{}, fmt.Errorf("report request: field \"period\": %w", err)
	}
	if s.Kind == "usage_current" {
		p = nil // a snapshot of now: no period
	} else if p == nil {
		p, _ = parsePeriod(json.RawMessage(`"last_month"`), now)
	}
	s.Period = p
	s.Date = now.UTC().Format(time.DateOnly)
	if p != nil {
		s.Date = p.Start
	}
	return s, nil
}

func parsePeriod(raw json.RawMessage, now time.Time) (*acronis.ReportPeriod, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var preset string
	if json.Unmarshal(raw, &preset) == nil {
		y, m, d := now.UTC().Date()
		first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		var p acronis.ReportPeriod
		switch preset {
		case "last_month":
			p = acronis.ReportPeriod{Start: first.AddDate(0, -1, 0).Format(time.DateOnly), End: first.AddDate(0, 0, -1).Format(time.DateOnly)}
		case "current_month":
			p = acronis.ReportPeriod{Start: first.Format(time.DateOnly), End: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)}
		case "yesterday":
			day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1).Format(time.DateOnly)
			p = acronis.ReportPeriod{Start: day, End: day}
		default:
			return nil, fmt.Errorf("%q is not last_month, current_month, yesterday or {\"start\",\"end\"}", preset)
		}
		return &p, nil
	}
	var p acronis.ReportPeriod
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, errors.New(`want {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"} or a preset`)
	}
	start, err1 := time.Parse(time.DateOnly, p.Start)
	end, err2 := time.Parse(time.DateOnly, p.End)
	switch {
	case err1 != nil:
		return nil, fmt.Errorf("start %q is not YYYY-MM-DD", p.Start)
	case err2 != nil:
		return nil, fmt.Errorf("end %q is not YYYY-MM-DD", p.End)
	case end.Before(start):
		return nil, errors.New("end is before start")
	}
	return &p, nil
}

// Key names the request: the same report asked for twice (a retry, the next
// scheduled run) maps to the same pending record, so no second report is
// created.
func (s Spec) Key() string {
	fs := slices.Clone(s.Formats)
	slices.Sort(fs)
	per := "now:" + s.Date
	if s.Period != nil {
		per = s.Period.Start + ".." + s.Period.End
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{s.Kind, s.Level, strings.Join(fs, ","), per, s.TenantID,
		fmt.Sprint(s.HideZeroUsage), fmt.Sprint(s.ShowSkus)}, "|")))
	return hex.EncodeToString(sum[:12])
}

// Extension maps a format to the object's file name ending.
func Extension(format string) string {
	switch format {
	case "csv":
		return "csv"
	case "csv_v2_0":
		return "v2.csv"
	case "json_v1":
		return "json"
	case "json_v2_0":
		return "v2.json"
	case "html":
		return "html"
	}
	return format
}

func boolOr(v, d *bool) bool {
	if v != nil {
		return *v
	}
	return d != nil && *d
}
