package huaweicbr

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
)

// Credentials are the CBR secret's value.
type Credentials struct {
	Region    string `json:"region"`
	ProjectID string `json:"project_id"`
	AccessKey string `json:"access_key,omitempty"`
	SecretKey string `json:"secret_key,omitempty"`
	AuthToken string `json:"auth_token,omitempty"` // IAM token, instead of AK/SK
	Endpoint  string `json:"endpoint,omitempty"`   // default https://cbr.<region>.myhuaweicloud.com
}

// String keeps the keys out of any output.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{region=%s project_id=%s access_key=%s secret_key=[redacted] auth_token=[redacted]}", c.Region, c.ProjectID, maskAK(c.AccessKey))
}

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("region", c.Region), slog.String("project_id", c.ProjectID), slog.String("access_key", maskAK(c.AccessKey)))
}

func maskAK(ak string) string {
	if len(ak) <= 4 {
		return strings.Repeat("*", len(ak))
	}
	return ak[:4] + strings.Repeat("*", len(ak)-4)
}

// ParseCredentials decodes and checks the secret. Errors name the field and
// the reason, never a value.
func ParseCredentials(b []byte) (Credentials, error) {
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Credentials{}, fmt.Errorf("huaweicbr: credentials: invalid JSON at byte %d", se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Credentials{}, fmt.Errorf("huaweicbr: credentials: field %q: want %s", te.Field, te.Type)
		}
		return Credentials{}, errors.New("huaweicbr: credentials: not a JSON object")
	}
	switch {
	case strings.TrimSpace(c.ProjectID) == "":
		return Credentials{}, errors.New(`huaweicbr: credentials: field "project_id": missing`)
	case c.Endpoint == "" && strings.TrimSpace(c.Region) == "":
		return Credentials{}, errors.New(`huaweicbr: credentials: field "region": missing (or set "endpoint")`)
	case c.AuthToken == "" && (c.AccessKey == "" || c.SecretKey == ""):
		return Credentials{}, errors.New(`huaweicbr: credentials: fields "access_key" and "secret_key" (or "auth_token"): missing`)
	case strings.ContainsAny(c.Region, "/:@ ") || strings.ContainsAny(c.ProjectID, "/?#%"):
		return Credentials{}, errors.New(`huaweicbr: credentials: field "region" or "project_id": invalid characters`)
	}
	c.Endpoint = cmp.Or(c.Endpoint, "https://cbr."+c.Region+".myhuaweicloud.com")
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && inputcheck.LoopbackHost(u.Hostname()))) {
		return Credentials{}, errors.New(`huaweicbr: credentials: field "endpoint": must be an https URL (http only for a local simulator)`)
	}
	c.Endpoint = strings.TrimRight(c.Endpoint, "/")
	return c, nil
}

// APIError is a non-2xx answer: {"error_code": "BackupService.xxxx", "error_msg": "..."}.
type APIError struct {
	Status    int
	Code      string
	Message   string
	Method    string
	Path      string
	RequestID string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("huaweicbr: %s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " [request " + e.RequestID + "]"
	}
	return s
}

// ParseError decodes an error body; unknown bodies become the message.
func ParseError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var env struct {
		Code    string `json:"error_code"`
		Message string `json:"error_msg"`
	}
	if json.Unmarshal(body, &env) == nil && (env.Code != "" || env.Message != "") {
		e.Code, e.Message = env.Code, env.Message
		return e
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	e.Message = strings.ToValidUTF8(s, "?")
	return e
}

// Client calls CBR for one project.
type Client struct {
	creds Credentials
	http  *http.Client
	now   func() time.Time
}

// Timeouts bound one CBR call. Zero fields take the defaults.
type Timeouts struct {
	Connect        time.Duration // TCP and TLS set-up (default 5s)
	ResponseHeader time.Duration // request sent to response headers (default 20s)
	Total          time.Duration // the whole call, retries and body included (default 60s)
}

// DefaultTimeouts fit a Lambda's few GETs: CBR answers these in well under
// a second; a stuck connection must not eat the function's whole timeout.
var DefaultTimeouts = Timeouts{Connect: 5 * time.Second, ResponseHeader: 20 * time.Second, Total: 60 * time.Second}

func (t Timeouts) withDefaults() Timeouts {
	if t.Connect <= 0 {
		t.Connect = DefaultTimeouts.Connect
	}
	if t.ResponseHeader <= 0 {
		t.ResponseHeader = DefaultTimeouts.ResponseHeader
	}
	if t.Total <= 0 {
		t.Total = DefaultTimeouts.Total
	}
	return t
}

// NewTransport is the base transport for CBR calls, with the connect and
// response-header timeouts; wrap it in httpretry for retries.
func NewTransport(t Timeouts) *http.Transport {
	t = t.withDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = t.Connect
	tr.ResponseHeaderTimeout = t.ResponseHeader
	return tr
}

// NewHTTPClient is an http.Client over rt (NewTransport(t) when nil) with
// t's total timeout.
func NewHTTPClient(rt http.RoundTripper, t Timeouts) *http.Client {
	t = t.withDefaults()
	if rt == nil {
		rt = NewTransport(t)
	}
	return &http.Client{Transport: rt, Timeout: t.Total}
}

// New builds a client; httpClient carries the retries (httpretry) and the
// timeouts (NewHTTPClient); nil means NewHTTPClient(nil, DefaultTimeouts),
// and a client without a total timeout gets the default one. A request is
// signed once: the gateway accepts X-Sdk-Date within 15 minutes, and
// retries are bounded far below that (attempts x MaxDelay). The client is
// copied so that no redirect to another host or scheme ever carries the
// credentials, whatever httpClient does.
func New(creds Credentials, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = NewHTTPClient(nil, DefaultTimeouts)
	}
	hc := *httpClient
	if hc.Timeout <= 0 {
		hc.Timeout = DefaultTimeouts.Total
	}
	hc.CheckRedirect = sameOriginOnly
	return &Client{creds: creds, http: &hc, now: time.Now}
}

// sameOriginOnly refuses a redirect to another scheme or host (port
// included): Go's own rule keeps X-Auth-Token always, and Authorization
// across ports and schemes. CBR does not redirect, so nothing is lost.
func sameOriginOnly(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("redirect to another origin (%s://%s) refused: credentials are not sent there", req.URL.Scheme, req.URL.Host)
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	full := "/v3/" + url.PathEscape(c.creds.ProjectID) + path
	u := c.creds.Endpoint + full
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("huaweicbr: GET %s: %w", full, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.creds.AuthToken != "" {
		req.Header.Set("X-Auth-Token", c.creds.AuthToken)
	} else if err := Sign(req, c.creds.AccessKey, c.creds.SecretKey, c.now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("huaweicbr: GET %s: %w", full, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := ParseError(resp.StatusCode, b)
		e.Method, e.Path, e.RequestID = "GET", full, resp.Header.Get("X-Request-Id")
		return e
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("huaweicbr: GET %s: decode: %w", full, err)
	}
	return nil
}

// Policy is a CBR policy (GET /v3/{project_id}/policies/{id}).
type Policy struct {
	ID                  string              `json:"id"`
	Name                string              `json:"name"`
	Enabled             bool                `json:"enabled"`
	OperationType       string              `json:"operation_type"`
	OperationDefinition OperationDefinition `json:"operation_definition"`
	Trigger             Trigger             `json:"trigger"`
	AssociatedVaults    []AssociatedVault   `json:"associated_vaults"`
}

// OperationDefinition holds retention. Pointers tell unset from 0.
type OperationDefinition struct {
	DayBackups            *int   `json:"day_backups,omitempty"`
	MaxBackups            *int   `json:"max_backups,omitempty"`
	MonthBackups          *int   `json:"month_backups,omitempty"`
	RetentionDurationDays *int   `json:"retention_duration_days,omitempty"`
	Timezone              string `json:"timezone,omitempty"`
	WeekBackups           *int   `json:"week_backups,omitempty"`
	YearBackups           *int   `json:"year_backups,omitempty"`
}

// Trigger is the policy's schedule.
type Trigger struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		Pattern   []string `json:"pattern"`
		StartTime string   `json:"start_time"`
	} `json:"properties"`
}

// AssociatedVault links a policy to a vault.
type AssociatedVault struct {
	VaultID            string `json:"vault_id"`
	DestinationVaultID string `json:"destination_vault_id,omitempty"`
}

// ListPolicies lists the project's policies (the API does not page this
// list); operationType "" means both backup and replication.
func (c *Client) ListPolicies(ctx context.Context, operationType string) ([]Policy, error) {
	q := url.Values{}
	if operationType != "" {
		q.Set("operation_type", operationType)
	}
	var out struct {
		Policies []Policy `json:"policies"`
	}
	err := c.get(ctx, "/policies", q, &out)
	return out.Policies, err
}

// ShowPolicy reads one policy.
func (c *Client) ShowPolicy(ctx context.Context, id string) (Policy, error) {
	var out struct {
		Policy Policy `json:"policy"`
	}
	err := c.get(ctx, "/policies/"+url.PathEscape(id), nil, &out)
	return out.Policy, err
}

// OrganizationPolicy is a policy an organization administrator delivers to
// member accounts. Its wire names differ from a Policy's (Huawei's API
// definition and the official SDK's model.OrganizationPolicy agree):
// policy_enabled, policy_operation_definition and policy_trigger. The Go
// field names stay those of Policy so the audit judges both alike.
type OrganizationPolicy struct {
	ID                  string              `json:"id"`
	Name                string              `json:"name"`
	Description         string              `json:"description,omitempty"`
	OperationType       string              `json:"operation_type"`
	DomainID            string              `json:"domain_id"`
	DomainName          string              `json:"domain_name,omitempty"`
	PolicyName          string              `json:"policy_name"`
	Enabled             *bool               `json:"policy_enabled"` // nil: not in the answer
	OperationDefinition OperationDefinition `json:"policy_operation_definition"`
	Trigger             Trigger             `json:"policy_trigger"`
	Status              string              `json:"status"`
	EffectiveScope      string              `json:"effective_scope,omitempty"`
}

// MemberStatus is one member account's delivery state of an organization
// policy (OrganizationPolicyStatus). The API answers ids only, no account or
// project names.
type MemberStatus struct {
	PolicyID  string  `json:"policy_id"`
	DomainID  string  `json:"domain_id"`
	ProjectID string  `json:"project_id"`
	Status    string  `json:"status"` // syncing, updating, deleting, available, error
	ErrorMsg  *string `json:"error_msg"`
}

// pageSize is the limit asked for on offset-paged lists, the documented
// maximum; the server may use a lower one.
const pageSize = 1000

// maxPages bounds a list whose server neither repeats nor ends a page.
const maxPages = 10000

// ErrIncomplete marks a list the server would not page through: it
// answered a page it had answered before (it ignores offset). The items
// returned with it are those seen, each once.
var ErrIncomplete = errors.New("list incomplete: the server repeated a page")

// listPage is an offset-paged answer: count is the total, limit and offset
// what the server used.
type listPage struct {
	Policies json.RawMessage `json:"policies"`
	Count    *int            `json:"count"`
}

// offsetPages fetches every page of an offset-paged list. API-NOTES.md:
// "Page until offset >= count or an empty page; never stop because a page
// is shorter than the limit you asked for", and "notice a page that repeats
// the previous one".
func offsetPages[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	var all []T
	var prev json.RawMessage
	for offset, n := 0, 0; n < maxPages; n++ {
		qq := url.Values{}
		maps.Copy(qq, q)
		qq.Set("limit", strconv.Itoa(pageSize))
		qq.Set("offset", strconv.Itoa(offset))
		var page listPage
		if err := c.get(ctx, path, qq, &page); err != nil {
			return all, err
		}
		var items []T
		if len(page.Policies) > 0 {
			if err := json.Unmarshal(page.Policies, &items); err != nil {
				return all, fmt.Errorf("huaweicbr: GET %s: decode policies: %w", path, err)
			}
		}
		if len(items) == 0 {
			return all, nil
		}
		if prev != nil && bytes.Equal(prev, page.Policies) {
			return all, fmt.Errorf("huaweicbr: GET %s: %w (offset %d ignored; %d of %s items)", path, ErrIncomplete, offset, len(all), countText(page.Count))
		}
		prev = page.Policies
		all = append(all, items...)
		offset += len(items)
		if page.Count != nil && offset >= *page.Count {
			return all, nil
		}
	}
	return all, fmt.Errorf("huaweicbr: GET %s: %w (no end after %d pages)", path, ErrIncomplete, maxPages)
}

func countText(n *int) string {
	if n == nil {
		return "an unknown number of"
	}
	return strconv.Itoa(*n)
}

// ListOrganizationPolicies lists organization policies of one operation type
// (backup or replication), every page.
func (c *Client) ListOrganizationPolicies(ctx context.Context, operationType string) ([]OrganizationPolicy, error) {
	return offsetPages[OrganizationPolicy](ctx, c, "/organization-policies", url.Values{"operation_type": {operationType}})
}

// OrganizationPolicyDetail lists each member account's delivery status,
// keeping error_msg. The API documents no limit/offset for it: they are sent
// in case the server honours them; when it answers the same page again the
// members seen so far come back with an error wrapping ErrIncomplete.
func (c *Client) OrganizationPolicyDetail(ctx context.Context, id string) ([]MemberStatus, error) {
	return offsetPages[MemberStatus](ctx, c, "/organization-policies/"+url.PathEscape(id)+"/policy-detail", nil)
}
