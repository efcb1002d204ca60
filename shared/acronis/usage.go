package acronis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
)

// Usage is one usage item of GET /api/2/tenants/{id}/usages and of the batch
// endpoint. Numbers stay json.Number: storage is counted in bytes (beyond
// float64's exact range for large tenants) and some services report
// fractional values; a float would round either silently.
type Usage struct {
	TenantUUID      string         `json:"tenant_uuid,omitempty"`
	TenantID        LegacyID       `json:"tenant_id,omitempty"`
	ApplicationID   string         `json:"application_id"`
	Name            string         `json:"name"`
	UsageName       string         `json:"usage_name"`
	Edition         *string        `json:"edition"`
	Type            string         `json:"type"`
	MeasurementUnit string         `json:"measurement_unit"`
	InfraID         string         `json:"infra_id,omitempty"`
	RangeStart      string         `json:"range_start"`
	Value           json.Number    `json:"value"`
	AbsoluteValue   json.Number    `json:"absolute_value,omitempty"`
	OfferingItem    *UsageOffering `json:"offering_item,omitempty"`
}

// UsageOffering is the offering item behind a usage: status and quota.
type UsageOffering struct {
	Status json.Number `json:"status"`
	Quota  *UsageQuota `json:"quota,omitempty"`
}

// UsageQuota is a soft quota (value) and the overage allowed above it; both
// null means unlimited.
type UsageQuota struct {
	Value   *json.Number `json:"value"`
	Overage *json.Number `json:"overage"`
	Version json.Number  `json:"version"`
}

// LegacyID is the platform's old numeric tenant id. The spec says integer,
// but some services send it as a string: both decode, kept as the digits so
// it is never confused with, or rounded like, anything else.
type LegacyID string

// UnmarshalJSON accepts 123, "123" and null.
func (l *LegacyID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*l = ""
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("legacy tenant id: %w", err)
		}
	} else {
		// The decoder hands over one valid JSON value: a number is its own
		// literal (checked for digits below), anything else is refused here.
		if len(b) == 0 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
			return fmt.Errorf("legacy tenant id: not a number or string")
		}
		s = string(b)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		*l = ""
		return nil
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return fmt.Errorf("legacy tenant id: %q is not a non-negative integer", inputcheck.Truncate(s, 40))
		}
	}
	*l = LegacyID(s)
	return nil
}

// MarshalJSON writes the id as a JSON string (empty = null).
func (l LegacyID) MarshalJSON() ([]byte, error) {
	if l == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(l))
}

// TenantUsage is one entry of the batch answer.
type TenantUsage struct {
	Tenant string  `json:"tenant"`
	Usages []Usage `json:"usages"`
}

// DecodeUsages decodes a usage list answer ({"items":[usage]}) with numbers
// kept exact. Exposed for the fuzz target and for callers reading stored answers.
func DecodeUsages(b []byte) ([]Usage, error) {
	var out struct {
		Items []Usage `json:"items"`
	}
	if err := decodeExact(b, &out); err != nil {
		return nil, err
	}
	return out.Items, checkUsages(out.Items)
}

// decodeUsagesBatch reads {"items":[{tenant, usages}, ...], ...} from r and
// hands each entry to fn as soon as it is decoded and checked, so a caller
// that writes entries out never holds the whole answer.
func decodeUsagesBatch(r io.Reader, fn func(TenantUsage) error) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return fmt.Errorf("usage batch: %w", err)
	}
	sawItems := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return fmt.Errorf("usage batch: decode: %w", err)
		}
		if key != "items" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("usage batch: decode %v: %w", key, err)
			}
			continue
		}
		if sawItems {
			return errors.New("usage batch: items given twice")
		}
		sawItems = true
		if err := decodeUsageItems(dec, fn); err != nil {
			return err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return fmt.Errorf("usage batch: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("usage batch: data after the answer")
	}
	return nil
}

// expectDelim reads the next token and checks that it is d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if tok != d {
		return fmt.Errorf("decode: got %v where %q belongs", tok, d)
	}
	return nil
}

func decodeExact(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("usage: decode: %w", err)
	}
	return nil
}

// checkUsages rejects items whose numbers are not numbers: json.Number takes
// any string in a quoted field, and a bill must not be built from "abc".
func checkUsages(us []Usage) error {
	for i, u := range us {
		for _, f := range []struct {
			name string
			n    json.Number
		}{{"value", u.Value}, {"absolute_value", u.AbsoluteValue}} {
			if f.n == "" && f.name == "absolute_value" {
				continue
			}
			if !isJSONNumber(string(f.n)) {
				return fmt.Errorf("usages[%d].%s: %q is not a number", i, f.name, inputcheck.Truncate(string(f.n), 40))
			}
		}
	}
	return nil
}

// isJSONNumber reports whether s is a JSON number literal.
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	return json.Valid([]byte(s)) && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}

// decodeUsageItems reads the value of "items": null (an empty list) or a
// list of TenantUsage, each checked and handed to fn as it is read.
func decodeUsageItems(dec *json.Decoder, fn func(TenantUsage) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("usage batch: items: decode: %w", err)
	}
	if tok == nil {
		return nil
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("usage batch: items: got %v where a list belongs", tok)
	}
	for i := 0; dec.More(); i++ {
		var tu TenantUsage
		if err := dec.Decode(&tu); err != nil {
			return fmt.Errorf("usage batch: items[%d]: decode: %w", i, err)
		}
		if err := CheckUUID(tu.Tenant); err != nil {
			return fmt.Errorf("usage batch: items[%d].tenant: %w", i, err)
		}
		if err := checkUsages(tu.Usages); err != nil {
			return fmt.Errorf("usage batch: items[%d]: %w", i, err)
		}
		if err := fn(tu); err != nil {
			return err
		}
	}
	if err := expectDelim(dec, ']'); err != nil {
		return fmt.Errorf("usage batch: items: %w", err)
	}
	return nil
}

// EachTenantUsage fetches usage for up to 100 tenants in one call (GET
// /api/2/tenants/usages?tenants=) and hands each tenant's entry to fn as it
// is read off the wire, so only one tenant's usage is in memory at a time.
// An error (fn's own included) can come after fn has seen some entries: a
// caller keeps what fn built only when EachTenantUsage returns nil, and may
// start over when the error is ErrAnswerCut.
func (c *Client) EachTenantUsage(ctx context.Context, ids []string, fn func(TenantUsage) error) error {
	switch {
	case len(ids) == 0:
		return errors.New("acronis: usages batch: no tenant ids")
	case len(ids) > MaxBatch:
		return fmt.Errorf("acronis: usages batch: %d tenant ids, at most %d", len(ids), MaxBatch)
	}
	for i, id := range ids {
		if err := CheckUUID(id); err != nil {
			return fmt.Errorf("acronis: usages batch: tenants[%d]: %w", i, err)
		}
	}
	const path = "/api/2/tenants/usages"
	query := url.Values{"tenants": {strings.Join(ids, ",")}}
	resp, err := c.send(ctx, Request{Method: "GET", Path: path, Query: query}, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := &cutReader{r: resp.Body}
	if err := decodeUsagesBatch(body, fn); err != nil {
		if body.err != nil {
			return fmt.Errorf("acronis: GET %s: %w: %w", path, ErrAnswerCut, body.err)
		}
		return fmt.Errorf("acronis: GET %s: %w", path, err)
	}
	// The decoder has read to EOF (it checks nothing follows the answer),
	// so the keep-alive connection is reused.
	return nil
}

// TenantUsages fetches one tenant's usage.
func (c *Client) TenantUsages(ctx context.Context, id string) ([]Usage, error) {
	if err := CheckUUID(id); err != nil {
		return nil, fmt.Errorf("acronis: tenant usages: id: %w", err)
	}
	var raw json.RawMessage
	path := "/api/2/tenants/" + id + "/usages"
	if err := c.Do(ctx, Request{Method: "GET", Path: path}, &raw); err != nil {
		return nil, err
	}
	out, err := DecodeUsages(raw)
	if err != nil {
		return nil, fmt.Errorf("acronis: GET %s: %w", path, err)
	}
	return out, nil
}
