// Package usage is the usage-snapshot job: it walks the tenant tree under a
// root, fetches every tenant's usage with the batch endpoint (100 tenants a
// call) from a bounded pool of workers, and streams one JSON line per usage
// item into rolling gzip parts in the object store, then the run's manifest.
// Memory stays flat whatever the number of tenants: pages and batches are
// written as they arrive, nothing collects the whole tree.
package usage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
)

// Request is the function's input: {} on the schedule, or a date and root
// tenant given by hand.
type Request struct {
	// Date labels the snapshot (YYYY-MM-DD, UTC, or the words "today" and
	// "yesterday" so a saved event works on any day); default today. The
	// platform only serves current usage, so a date is accepted only up to
	// MaxBackdate in the past (re-running yesterday's failed run) and never in
	// the future.
	Date string `json:"date,omitempty"`
	// RootTenantID is where the walk starts; default from the job's
	// configuration, else the API client's own tenant.
	RootTenantID string `json:"root_tenant_id,omitempty"`
}

// MaxBackdate is how far back a snapshot may be labelled.
const MaxBackdate = 7 * 24 * time.Hour

// ParseRequest decodes and checks an event. Errors name the field.
func ParseRequest(b []byte) (Request, error) {
	var r Request
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return r, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return Request{}, fmt.Errorf("usage request: field %q: want a %s", te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return Request{}, fmt.Errorf("usage request: %s (allowed: date, root_tenant_id)", strings.TrimPrefix(err.Error(), "json: "))
		default:
			return Request{}, fmt.Errorf("usage request: not a JSON object with date and root_tenant_id: %w", err)
		}
	}
	if dec.More() {
		return Request{}, errors.New("usage request: trailing data after the JSON object")
	}
	return r, nil
}

// Resolve returns r with a relative date ("today", "yesterday") written as
// the UTC date it means at now; other fields are unchanged.
func (r Request) Resolve(now time.Time) Request {
	switch r.Date {
	case "today":
		r.Date = now.UTC().Format(time.DateOnly)
	case "yesterday":
		r.Date = now.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return r
}

// Validate checks the fields against now (UTC); call it on a resolved request.
func (r Request) Validate(now time.Time) error {
	if r.Date != "" {
		d, err := time.Parse(time.DateOnly, r.Date)
		if err != nil {
			return fmt.Errorf("usage request: field \"date\": %q is not a date in YYYY-MM-DD form, \"today\" or \"yesterday\"", inputcheck.Truncate(r.Date, 40))
		}
		today := now.UTC().Truncate(24 * time.Hour)
		switch {
		case d.After(today.Add(24 * time.Hour)):
			return fmt.Errorf("usage request: field \"date\": %s is in the future", r.Date)
		case d.Before(today.Add(-MaxBackdate)):
			return fmt.Errorf("usage request: field \"date\": %s is more than %d days ago; the platform only serves current usage", r.Date, int(MaxBackdate.Hours()/24))
		}
	}
	if r.RootTenantID != "" {
		if err := acronis.CheckUUID(r.RootTenantID); err != nil {
			return fmt.Errorf("usage request: field \"root_tenant_id\": %w", err)
		}
	}
	return nil
}
