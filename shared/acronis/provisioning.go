package acronis

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OfferingItem is kept as the platform sends it, so a PUT sends back every
// field the platform gave (quota, infra_id, status ...), known to us or not.
type OfferingItem map[string]any

// Name is the item's name.
func (o OfferingItem) Name() string { s, _ := o["name"].(string); return s }

// Type is count, feature or infra.
func (o OfferingItem) Type() string { s, _ := o["type"].(string); return s }

// AvailableForChild lists the offering items a child of kind under parent may
// get in an edition ("*" = all editions).
func (c *Client) AvailableForChild(ctx context.Context, parentID, kind, edition string) ([]OfferingItem, error) {
	var out struct {
		Items []OfferingItem `json:"items"`
	}
	err := c.Do(ctx, Request{
		Method: "GET",
		Path:   "/api/2/tenants/" + parentID + "/offering_items/available_for_child",
		Query:  url.Values{"kind": {kind}, "edition": {edition}},
	}, &out)
	return out.Items, err
}

// InfraID is the storage location an item belongs to ("" when none).
func (o OfferingItem) InfraID() string { s, _ := o["infra_id"].(string); return s }

// UsageName is the item's usage name.
func (o OfferingItem) UsageName() string { s, _ := o["usage_name"].(string); return s }

// QuotaVersion is the version of the item's quota (0 when it has none).
func (o OfferingItem) QuotaVersion() int64 {
	q, _ := o["quota"].(map[string]any)
	switch v := q["version"].(type) {
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

// OfferingItems lists a tenant's offering items of an edition ("*" = all).
// Without edition the platform answers only the items of "standard" (the
// parameter's documented default), so callers must say which they want.
func (c *Client) OfferingItems(ctx context.Context, tenantID, edition string) ([]OfferingItem, error) {
	if edition == "" {
		return nil, fmt.Errorf("acronis: offering items of %s: edition is required (\"*\" for all)", tenantID)
	}
	var out struct {
		Items []OfferingItem `json:"items"`
	}
	err := c.Do(ctx, Request{
		Method: "GET",
		Path:   "/api/2/tenants/" + tenantID + "/offering_items",
		Query:  url.Values{"edition": {edition}},
	}, &out)
	return out.Items, err
}

// SetOfferingItems replaces a tenant's offering items (idempotent).
func (c *Client) SetOfferingItems(ctx context.Context, tenantID string, items []OfferingItem) error {
	return c.Do(ctx, Request{
		Method: "PUT",
		Path:   "/api/2/tenants/" + tenantID + "/offering_items",
		Body:   map[string]any{"offering_items": items},
	}, nil)
}

// Pricing is a tenant's pricing settings.
type Pricing struct {
	Mode                string  `json:"mode"`
	Currency            string  `json:"currency,omitempty"`
	ProductionStartDate *string `json:"production_start_date,omitempty"`
	Version             int64   `json:"version"`
}

// GetPricing reads a tenant's pricing.
func (c *Client) GetPricing(ctx context.Context, tenantID string) (Pricing, error) {
	var p Pricing
	err := c.Do(ctx, Request{Method: "GET", Path: "/api/2/tenants/" + tenantID + "/pricing"}, &p)
	return p, err
}

// SetPricing writes pricing at its current version. Trial to production is
// irreversible and bills the whole month: callers do it only on request.
func (c *Client) SetPricing(ctx context.Context, tenantID string, p Pricing) (Pricing, error) {
	var out Pricing
	err := c.Do(ctx, Request{Method: "PUT", Path: "/api/2/tenants/" + tenantID + "/pricing", Body: p}, &out)
	return out, err
}

// EditionSwitchCheck is the dry run of an edition switch: its warnings.
func (c *Client) EditionSwitchCheck(ctx context.Context, tenantID, applicationID, target string) ([]string, error) {
	var out struct {
		Warnings []json.RawMessage `json:"warnings"`
	}
	err := c.Do(ctx, Request{
		Method: "GET",
		Path:   "/api/2/tenants/" + tenantID + "/edition",
		Query:  url.Values{"application_id": {applicationID}, "target_edition": {target}},
	}, &out)
	var ws []string
	for _, w := range out.Warnings {
		var s string
		if json.Unmarshal(w, &s) != nil {
			s = string(w) // warnings may be objects; keep them readable
		}
		ws = append(ws, s)
	}
	return ws, err
}

// SwitchEdition switches a tenant's edition for an application.
func (c *Client) SwitchEdition(ctx context.Context, tenantID, applicationID, target string) error {
	return c.Do(ctx, Request{
		Method: "PUT",
		Path:   "/api/2/tenants/" + tenantID + "/edition",
		Body:   map[string]string{"application_id": applicationID, "target_edition": target},
	}, nil)
}

// User is an account-management user.
type User struct {
	ID        string   `json:"id"`
	Version   int64    `json:"version"`
	TenantID  string   `json:"tenant_id"`
	Login     string   `json:"login"`
	Activated bool     `json:"activated"`
	Contact   *Contact `json:"contact,omitempty"`
}

// LoginAvailable asks check_login: true on 204, false on 409.
func (c *Client) LoginAvailable(ctx context.Context, login string) (bool, error) {
	err := c.Do(ctx, Request{
		Method: "GET",
		Path:   "/api/2/users/check_login",
		Query:  url.Values{"username": {login}},
	}, nil)
	switch {
	case err == nil:
		return true, nil
	case HasStatus(err, 409):
		return false, nil
	}
	return false, err
}

// TenantUsers lists the users whose tenant_id is the tenant, and only them.
// GET /users?tenant_id= does not do this: the parameter is "Required when
// searching the users by external_id. Not used otherwise", so that list is
// not limited to the tenant. Instead: the tenant's user ids
// (GET /tenants/{id}/users), then the users by uuids (at most 100 a call);
// every user's tenant_id is checked anyway.
func (c *Client) TenantUsers(ctx context.Context, tenantID string) ([]User, error) {
	if err := CheckUUID(tenantID); err != nil {
		return nil, fmt.Errorf("acronis: tenant users: tenant id: %w", err)
	}
	var ids struct {
		Items []string `json:"items"`
	}
	if err := c.Do(ctx, Request{Method: "GET", Path: "/api/2/tenants/" + tenantID + "/users"}, &ids); err != nil {
		return nil, fmt.Errorf("acronis: user ids of tenant %s: %w", tenantID, err)
	}
	var out []User
	for batch := range slices.Chunk(ids.Items, MaxBatch) {
		users, err := All[User](ctx, c, "/api/2/users", url.Values{"uuids": {strings.Join(batch, ",")}}, 0)
		if err != nil {
			return nil, fmt.Errorf("acronis: users of tenant %s: %w", tenantID, err)
		}
		for _, u := range users {
			if u.TenantID == tenantID {
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// CreateUser creates a user (200).
func (c *Client) CreateUser(ctx context.Context, tenantID, login string, contact Contact) (User, error) {
	var u User
	err := c.Do(ctx, Request{
		Method: "POST",
		Path:   "/api/2/users",
		Body:   map[string]any{"tenant_id": tenantID, "login": login, "contact": contact},
	}, &u)
	return u, err
}

// SendActivationEmail sends the activation e-mail (204).
func (c *Client) SendActivationEmail(ctx context.Context, userID string) error {
	return c.Do(ctx, Request{
		Method: "POST",
		Path:   "/api/2/users/" + userID + "/send-activation-email",
		Body:   map[string]any{},
	}, nil)
}

// AccessPolicy is one of a user's access policies, kept as the platform
// sends it so a PUT gives back every field (version included).
type AccessPolicy map[string]any

// AccessPolicies is the accessPoliciesList document.
type AccessPolicies struct {
	Timestamp string         `json:"timestamp"`
	Items     []AccessPolicy `json:"items"`
}

// UserAccessPolicies reads a user's access policies.
func (c *Client) UserAccessPolicies(ctx context.Context, userID string) (AccessPolicies, error) {
	var out AccessPolicies
	if err := CheckUUID(userID); err != nil {
		return out, fmt.Errorf("acronis: access policies: user id: %w", err)
	}
	err := c.Do(ctx, Request{Method: "GET", Path: "/api/2/users/" + userID + "/access_policies"}, &out)
	return out, err
}

// AddRole gives a user a role in a tenant and keeps every policy it has:
// the PUT "rewrites user's access policies", so it sends the ones read just
// before at their versions plus the new one. It reports whether it changed
// anything (false when the user already has the role there).
func (c *Client) AddRole(ctx context.Context, userID, tenantID, role string, now time.Time) (bool, error) {
	cur, err := c.UserAccessPolicies(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("add role %s: read access policies: %w", role, err)
	}
	for _, p := range cur.Items {
		if p["role_id"] == role && p["tenant_id"] == tenantID {
			return false, nil
		}
	}
	const zero = "00000000-0000-0000-0000-000000000000"
	at := now.UTC().Format("2006-01-02T15:04:05Z")
	items := append(cur.Items, AccessPolicy{"id": zero, "issuer_id": zero, "role_id": role, "tenant_id": tenantID,
		"trustee_id": userID, "trustee_type": "user", "version": 0, "created_at": at, "updated_at": at, "deleted_at": nil})
	body := AccessPolicies{Timestamp: at, Items: items}
	if err := c.Do(ctx, Request{
		Method: "PUT",
		Path:   "/api/2/users/" + userID + "/access_policies",
		Body:   body,
	}, nil); err != nil {
		return false, fmt.Errorf("add role %s: %w", role, err)
	}
	return true, nil
}
