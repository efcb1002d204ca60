package acronis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
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
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			return fmt.Errorf("legacy tenant id: not a number or string")
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	if s == "" {
		*l = ""
		return nil
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return fmt.Errorf("legacy tenant id: %q is not a non-negative integer", truncate(s, 40))
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

// DecodeUsagesBatch decodes the batch answer.
func DecodeUsagesBatch(b []byte) ([]TenantUsage, error) {
	var out struct {
		Items []TenantUsage `json:"items"`
	}
	if err := decodeExact(b, &out); err != nil {
		return nil, err
	}
	for i, tu := range out.Items {
		if err := CheckUUID(tu.Tenant); err != nil {
			return nil, fmt.Errorf("usage batch: items[%d].tenant: %w", i, err)
		}
		if err := checkUsages(tu.Usages); err != nil {
			return nil, fmt.Errorf("usage batch: items[%d]: %w", i, err)
		}
	}
	return out.Items, nil
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
				return fmt.Errorf("usages[%d].%s: %q is not a number", i, f.name, truncate(string(f.n), 40))
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

// UsagesBatch fetches usage for up to MaxBatch tenants in one call. Tenants the
// caller may not see are left out of the answer by the platform: callers that
// must account for every tenant compare the answer with ids.
func (c *Client) UsagesBatch(ctx context.Context, ids []string) ([]TenantUsage, error) {
	switch {
	case len(ids) == 0:
		return nil, errors.New("acronis: usages batch: no tenant ids")
	case len(ids) > MaxBatch:
		return nil, fmt.Errorf("acronis: usages batch: %d tenant ids, at most %d", len(ids), MaxBatch)
	}
	for i, id := range ids {
		if err := CheckUUID(id); err != nil {
			return nil, fmt.Errorf("acronis: usages batch: tenants[%d]: %w", i, err)
		}
	}
	var raw json.RawMessage
	if err := c.Do(ctx, "GET", "/api/2/tenants/usages", url.Values{"tenants": {strings.Join(ids, ",")}}, nil, &raw); err != nil {
		return nil, err
	}
	out, err := DecodeUsagesBatch(raw)
	if err != nil {
		return nil, fmt.Errorf("acronis: GET /api/2/tenants/usages: %w", err)
	}
	return out, nil
}

// TenantUsages fetches one tenant's usage.
func (c *Client) TenantUsages(ctx context.Context, id string) ([]Usage, error) {
	if err := CheckUUID(id); err != nil {
		return nil, fmt.Errorf("acronis: tenant usages: id: %w", err)
	}
	var raw json.RawMessage
	path := "/api/2/tenants/" + id + "/usages"
	if err := c.Do(ctx, "GET", path, nil, nil, &raw); err != nil {
		return nil, err
	}
	out, err := DecodeUsages(raw)
	if err != nil {
		return nil, fmt.Errorf("acronis: GET %s: %w", path, err)
	}
	return out, nil
}
