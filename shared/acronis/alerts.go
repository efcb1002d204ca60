package acronis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
)

// AlertsPath is the Alert Manager v1 list endpoint.
const AlertsPath = "/api/alert_manager/v1/alerts"

// Alert is one alert of GET /api/alert_manager/v1/alerts (schema AlertView),
// with the fields the policy audit reads lifted out of its free-form details.
type Alert struct {
	ID       string
	Type     string
	Severity string // ok, information, warning, error, critical
	Category string
	// Tenant is the alert owner as the alert manager names it: the document's
	// example carries a legacy numeric id ("56") and a locator "/1/50/53/56/".
	Tenant AlertTenant
	// From details (the document: "Copy of context is merged to details").
	ResourceID   string
	ResourceName string
	PlanID       string
	PlanName     string
	AgentID      string // details.agentId, else the alert's affinity ("e.g., agent ID")
	ActivityID   string
	// Message is the alert's text: details.errorMessage.reason (the
	// document's acep_path for errorMessage), else any text found there.
	Message    string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ReceivedAt time.Time
	DeletedAt  *time.Time // set only for dismissed alerts
	Details    json.RawMessage
}

// AlertTenant is an alert's owner.
type AlertTenant struct {
	ID      string `json:"id"`
	Locator string `json:"locator"`
}

// AlertQuery selects alerts. Every filter is sent with every page: the alert
// document does not say its cursor carries the filters (API-NOTES: "other
// families do not say so: there, keep sending the filters").
type AlertQuery struct {
	// Tenants are alert tenant ids, sent as repeated tenant= (the document's
	// array parameter), at most MaxBatch per call.
	Tenants    []string
	Categories []string  // e.g. "Backup"
	Types      []string  // e.g. "BackupFailed"
	Since      time.Time // updated_at=ge(ns) when not zero
	Limit      int       // page size; 0 = DefaultAlertLimit
}

// DefaultAlertLimit is the page size sent when AlertQuery.Limit is 0; the
// document gives no default, so the client always states one.
const DefaultAlertLimit = 100

// AlertPage is one page of alerts and the tenant batch it answers.
type AlertPage struct {
	Batch []string
	Items []Alert
}

// Alerts walks the active (not dismissed) alerts of q.Tenants in batches of
// at most 100 tenants, every cursor page of each batch.
func (c *Client) Alerts(ctx context.Context, q AlertQuery) iter.Seq2[AlertPage, error] {
	return func(yield func(AlertPage, error) bool) {
		if len(q.Tenants) == 0 {
			yield(AlertPage{}, errors.New("acronis: alerts: no tenants given"))
			return
		}
		for batch := range slices.Chunk(q.Tenants, MaxBatch) {
			if err := checkTenantIDs(batch); err != nil {
				yield(AlertPage{}, fmt.Errorf("acronis: alerts: %w", err))
				return
			}
			pages := cursorList[Alert]{AlertsPath, alertFilter(q, batch), true, DecodeAlerts}.walk(ctx, c) // filters sent with every page
			for items, err := range pages {
				if !yield(AlertPage{Batch: batch, Items: items}, err) || err != nil {
					return
				}
			}
		}
	}
}

func alertFilter(q AlertQuery, batch []string) url.Values {
	v := url.Values{"tenant": batch, "show_deleted": {"false"}, "order": {"asc(created_at)"}}
	if len(q.Categories) > 0 {
		v["category"] = q.Categories
	}
	if len(q.Types) > 0 {
		v["type"] = q.Types
	}
	if !q.Since.IsZero() {
		// "Must be a Unix timestamp in nanoseconds."
		v.Set("updated_at", "ge("+strconv.FormatInt(q.Since.UnixNano(), 10)+")")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultAlertLimit
	}
	v.Set("limit", strconv.Itoa(limit))
	return v
}

// checkTenantIDs refuses ids that would break a filter: empty, too long, or
// carrying the filter syntax's own characters.
func checkTenantIDs(ids []string) error {
	for _, id := range ids {
		if id == "" || len(id) > 64 || strings.ContainsAny(id, "(),&=/ ") {
			return fmt.Errorf("tenant id %q: not a tenant id", inputcheck.Truncate(id, 40))
		}
	}
	return nil
}

// alertView is the document's AlertView as it travels.
type alertView struct {
	ID         *string         `json:"id"`
	Type       *string         `json:"type"`
	Severity   *string         `json:"severity"`
	Affinity   string          `json:"affinity"`
	CreatedAt  *string         `json:"createdAt"`
	DeletedAt  *string         `json:"deletedAt"`
	Details    json.RawMessage `json:"details"`
	ReceivedAt *string         `json:"receivedAt"`
	Tenant     *AlertTenant    `json:"tenant"`
	UpdatedAt  *string         `json:"updatedAt"`
	Category   *string         `json:"category"`
}

// alertDetails are the details keys the document's examples and type
// definitions use for backup alerts.
type alertDetails struct {
	ResourceID   string          `json:"resourceId"`
	ResourceName string          `json:"resourceName"`
	PlanID       string          `json:"planId"`
	PlanName     string          `json:"planName"`
	AgentID      string          `json:"agentId"`
	ActivityID   string          `json:"activityId"`
	ErrorMessage json.RawMessage `json:"errorMessage"`
}

var alertSeverities = []string{"ok", "information", "warning", "error", "critical"}

// DecodeAlerts decodes one answer of GET /alerts: {"items":[AlertView],
// "paging":{"cursors":{"after"}}}. Required fields missing, a severity
// outside the document's enum or an unreadable time is an error naming the
// item and field.
func DecodeAlerts(b []byte) ([]Alert, string, error) {
	page, err := decodeManagerPage[alertView](b, "alerts")
	if err != nil {
		return nil, "", err
	}
	after, _ := page.pagingCursor()
	out, err := convertItems(*page.Items, "alerts", alertView.alert)
	if err != nil {
		return nil, "", err
	}
	return out, after, nil
}

func (v alertView) alert() (Alert, error) {
	for _, f := range []struct {
		name string
		set  bool
	}{{"id", v.ID != nil}, {"type", v.Type != nil}, {"severity", v.Severity != nil}, {"createdAt", v.CreatedAt != nil},
		{"receivedAt", v.ReceivedAt != nil}, {"updatedAt", v.UpdatedAt != nil}, {"tenant", v.Tenant != nil},
		{"category", v.Category != nil}, {"details", v.Details != nil}} {
		if !f.set {
			return Alert{}, fmt.Errorf("%s: missing", f.name)
		}
	}
	if !slices.Contains(alertSeverities, *v.Severity) {
		return Alert{}, fmt.Errorf("severity: %q is not one of %v", inputcheck.Truncate(*v.Severity, 40), alertSeverities)
	}
	if v.Tenant.ID == "" {
		return Alert{}, errors.New("tenant.id: empty")
	}
	a := Alert{ID: *v.ID, Type: *v.Type, Severity: *v.Severity, Category: *v.Category, Tenant: *v.Tenant, AgentID: v.Affinity}
	var err error
	for _, t := range []struct {
		name string
		s    string
		dst  *time.Time
	}{{"createdAt", *v.CreatedAt, &a.CreatedAt}, {"receivedAt", *v.ReceivedAt, &a.ReceivedAt}, {"updatedAt", *v.UpdatedAt, &a.UpdatedAt}} {
		if *t.dst, err = ParseStamp(t.s); err != nil {
			return Alert{}, fmt.Errorf("%s: %w", t.name, err)
		}
	}
	if v.DeletedAt != nil && *v.DeletedAt != "" {
		d, err := ParseStamp(*v.DeletedAt)
		if err != nil {
			return Alert{}, fmt.Errorf("deletedAt: %w", err)
		}
		a.DeletedAt = &d
	}
	return a, a.readDetails(v.Details)
}

// readDetails lifts the audit's fields out of details. The document: "Null
// if details and context are empty", so null is an empty details object.
func (a *Alert) readDetails(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		a.Details = nil
		return nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("details: not an object")
	}
	a.Details = append(json.RawMessage(nil), raw...)
	var d alertDetails
	if err := json.Unmarshal(raw, &d); err != nil {
		// A key of an unexpected type (say resourceId: 5) is not fatal to
		// the alert: it keeps its raw details and says nothing it cannot.
		d = alertDetails{}
		_ = json.Unmarshal(raw, &struct {
			ErrorMessage *json.RawMessage `json:"errorMessage"`
		}{&d.ErrorMessage})
	}
	a.ResourceID, a.ResourceName, a.PlanID, a.PlanName = d.ResourceID, d.ResourceName, d.PlanID, d.PlanName
	a.ActivityID = d.ActivityID
	if d.AgentID != "" {
		a.AgentID = d.AgentID
	}
	a.Message = messageText(d.ErrorMessage)
	return nil
}

// messageText reads an errorMessage: a string, or an object whose reason
// (the document's acep_path), message or text holds the words; failing those,
// its kbLink.serCode names the problem.
func messageText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var m struct {
		Reason  any `json:"reason"`
		Message any `json:"message"`
		Text    any `json:"text"`
		KBLink  struct {
			SerCode string `json:"serCode"`
		} `json:"kbLink"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	for _, v := range []any{m.Reason, m.Message, m.Text} {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	return m.KBLink.SerCode
}

// ParseStamp reads the platform's times: RFC 3339 with or without zone (UTC
// is assumed without one: API-NOTES "Times come with and without zone
// (2020-08-04T12:47:03) and with fractions"), or with a space for the T
// (CBR's start_time, "2019-05-08 06:57:05"). Every reader of outside times
// uses it.
func ParseStamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", time.DateTime} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: not RFC 3339 (zone and fractions optional)", inputcheck.Truncate(s, 40))
}
