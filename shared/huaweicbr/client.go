package huaweicbr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
	if c.Endpoint == "" {
		c.Endpoint = "https://cbr." + c.Region + ".myhuaweicloud.com"
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return Credentials{}, errors.New(`huaweicbr: credentials: field "endpoint": must be an https URL (http only for a local simulator)`)
	}
	c.Endpoint = strings.TrimRight(c.Endpoint, "/")
	return c, nil
}

func isLoopback(h string) bool { return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.") }

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

// New builds a client; httpClient carries the retries (httpretry). A
// request is signed once: the gateway accepts X-Sdk-Date within 15 minutes,
// and retries are bounded far below that (attempts x MaxDelay).
func New(creds Credentials, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{creds: creds, http: httpClient, now: time.Now}
}

// SetClock replaces the signing clock (tests).
func (c *Client) SetClock(now func() time.Time) { c.now = now }

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

// MemberStatus is one member account's delivery state of an organization policy.
type MemberStatus struct {
	PolicyID    string  `json:"policy_id"`
	DomainID    string  `json:"domain_id"`
	DomainName  string  `json:"domain_name,omitempty"`
	ProjectID   string  `json:"project_id"`
	ProjectName string  `json:"project_name,omitempty"`
	Status      string  `json:"status"` // syncing, updating, deleting, available, error
	ErrorMsg    *string `json:"error_msg"`
}

// PageSize is the limit asked for on offset-paged lists.
const PageSize = 100

// offsetPages fetches every page of an offset-paged list: until count items
// arrived, or a short or empty page (a count that lies cannot loop us).
func offsetPages[T any](ctx context.Context, c *Client, path string, q url.Values, key string) ([]T, error) {
	var all []T
	for offset := 0; ; {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("limit", strconv.Itoa(PageSize))
		qq.Set("offset", strconv.Itoa(offset))
		var page map[string]json.RawMessage
		if err := c.get(ctx, path, qq, &page); err != nil {
			return all, err
		}
		var items []T
		if raw, ok := page[key]; ok {
			if err := json.Unmarshal(raw, &items); err != nil {
				return all, fmt.Errorf("huaweicbr: GET %s: decode %s: %w", path, key, err)
			}
		}
		var count int
		_ = json.Unmarshal(page["count"], &count)
		all = append(all, items...)
		offset += len(items)
		if len(items) < PageSize || (count > 0 && offset >= count) {
			return all, nil
		}
	}
}

// ListOrganizationPolicies lists organization policies of one operation type
// (backup or replication), every page.
func (c *Client) ListOrganizationPolicies(ctx context.Context, operationType string) ([]OrganizationPolicy, error) {
	return offsetPages[OrganizationPolicy](ctx, c, "/organization-policies", url.Values{"operation_type": {operationType}}, "policies")
}

// ShowOrganizationPolicy reads one organization policy.
func (c *Client) ShowOrganizationPolicy(ctx context.Context, id string) (OrganizationPolicy, error) {
	var out struct {
		Policy OrganizationPolicy `json:"policy"`
	}
	err := c.get(ctx, "/organization-policies/"+url.PathEscape(id), nil, &out)
	return out.Policy, err
}

// OrganizationPolicyDetail lists each member account's delivery status,
// every page, keeping error_msg.
func (c *Client) OrganizationPolicyDetail(ctx context.Context, id string) ([]MemberStatus, error) {
	return offsetPages[MemberStatus](ctx, c, "/organization-policies/"+url.PathEscape(id)+"/policy-detail", nil, "policies")
}
