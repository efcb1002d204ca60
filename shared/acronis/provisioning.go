package acronis

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
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
	err := c.Do(ctx, "GET", "/api/2/tenants/"+parentID+"/offering_items/available_for_child", url.Values{"kind": {kind}, "edition": {edition}}, nil, &out)
	return out.Items, err
}

// OfferingItems lists a tenant's offering items.
func (c *Client) OfferingItems(ctx context.Context, tenantID string) ([]OfferingItem, error) {
	var out struct {
		Items []OfferingItem `json:"items"`
	}
	err := c.Do(ctx, "GET", "/api/2/tenants/"+tenantID+"/offering_items", nil, nil, &out)
	return out.Items, err
}

// SetOfferingItems replaces a tenant's offering items (idempotent).
func (c *Client) SetOfferingItems(ctx context.Context, tenantID string, items []OfferingItem) error {
	return c.Do(ctx, "PUT", "/api/2/tenants/"+tenantID+"/offering_items", nil, map[string]any{"offering_items": items}, nil)
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
	err := c.Do(ctx, "GET", "/api/2/tenants/"+tenantID+"/pricing", nil, nil, &p)
	return p, err
}

// SetPricing writes pricing at its current version. Trial to production is
// irreversible and bills the whole month: callers do it only on request.
func (c *Client) SetPricing(ctx context.Context, tenantID string, p Pricing) (Pricing, error) {
	var out Pricing
	err := c.Do(ctx, "PUT", "/api/2/tenants/"+tenantID+"/pricing", nil, p, &out)
	return out, err
}

// EditionSwitchCheck is the dry run of an edition switch: its warnings.
func (c *Client) EditionSwitchCheck(ctx context.Context, tenantID, applicationID, target string) ([]string, error) {
	var out struct {
		Warnings []json.RawMessage `json:"warnings"`
	}
	err := c.Do(ctx, "GET", "/api/2/tenants/"+tenantID+"/edition", url.Values{"application_id": {applicationID}, "target_edition": {target}}, nil, &out)
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
	return c.Do(ctx, "PUT", "/api/2/tenants/"+tenantID+"/edition", nil, map[string]string{"application_id": applicationID, "target_edition": target}, nil)
}

// User is an account-management user.
type User struct {
	ID       string   `json:"id"`
	Version  int64    `json:"version"`
	TenantID string   `json:"tenant_id"`
	Login    string   `json:"login"`
	Contact  *Contact `json:"contact,omitempty"`
}

// LoginAvailable asks check_login: true on 204, false on 409.
func (c *Client) LoginAvailable(ctx context.Context, login string) (bool, error) {
	err := c.Do(ctx, "GET", "/api/2/users/check_login", url.Values{"username": {login}}, nil, nil)
	switch {
	case err == nil:
		return true, nil
	case HasStatus(err, 409):
		return false, nil
	}
	return false, err
}

// TenantUsers lists a tenant's users (every page).
func (c *Client) TenantUsers(ctx context.Context, tenantID string) ([]User, error) {
	return All[User](ctx, c, "/api/2/users", url.Values{"tenant_id": {tenantID}}, 0)
}

// CreateUser creates a user (200).
func (c *Client) CreateUser(ctx context.Context, tenantID, login string, contact Contact) (User, error) {
	var u User
	err := c.Do(ctx, "POST", "/api/2/users", nil, map[string]any{"tenant_id": tenantID, "login": login, "contact": contact}, &u)
	return u, err
}

// SendActivationEmail sends the activation e-mail (204).
func (c *Client) SendActivationEmail(ctx context.Context, userID string) error {
	return c.Do(ctx, "POST", "/api/2/users/"+userID+"/send-activation-email", nil, map[string]any{}, nil)
}

// SetRole replaces a user's access policies with one role in a tenant.
func (c *Client) SetRole(ctx context.Context, userID, tenantID, role string) error {
	const zero = "00000000-0000-0000-0000-000000000000"
	body := map[string]any{"items": []map[string]any{{"id": zero, "issuer_id": zero, "role_id": role, "tenant_id": tenantID,
		"trustee_id": userID, "trustee_type": "user", "version": 0}}}
	if err := c.Do(ctx, "PUT", "/api/2/users/"+userID+"/access_policies", nil, body, nil); err != nil {
		return fmt.Errorf("set role %s: %w", role, err)
	}
	return nil
}
