package acronis

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"strings"

	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
)

// Tenant kinds.
const (
	KindPartner  = "partner"
	KindCustomer = "customer"
)

// Contact is the part of a tenant or user contact the jobs use.
type Contact struct {
	Email     string   `json:"email,omitempty"`
	FirstName string   `json:"firstname,omitempty"`
	LastName  string   `json:"lastname,omitempty"`
	Phone     string   `json:"phone,omitempty"`
	Address1  string   `json:"address1,omitempty"`
	Address2  string   `json:"address2,omitempty"`
	City      string   `json:"city,omitempty"`
	State     string   `json:"state,omitempty"`
	Country   string   `json:"country,omitempty"`
	Zipcode   string   `json:"zipcode,omitempty"`
	Types     []string `json:"types,omitempty"`
}

// Tenant is an account-management tenant.
type Tenant struct {
	ID          string   `json:"id"`
	Version     int64    `json:"version"`
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	ParentID    string   `json:"parent_id"`
	Enabled     bool     `json:"enabled"`
	CustomerID  *string  `json:"customer_id,omitempty"`
	InternalTag *string  `json:"internal_tag,omitempty"`
	Language    string   `json:"language,omitempty"`
	Contact     *Contact `json:"contact,omitempty"`
	HasChildren bool     `json:"has_children"`
	PricingMode string   `json:"pricing_mode,omitempty"`
	CreatedAt   string   `json:"created_at,omitempty"`
	UpdatedAt   string   `json:"updated_at,omitempty"`
	DeletedAt   *string  `json:"deleted_at,omitempty"`
}

// TenantPost creates a tenant.
type TenantPost struct {
	Name        string   `json:"name"`
	ParentID    string   `json:"parent_id"`
	Kind        string   `json:"kind"`
	CustomerID  string   `json:"customer_id,omitempty"`
	InternalTag string   `json:"internal_tag,omitempty"`
	Language    string   `json:"language,omitempty"`
	Contact     *Contact `json:"contact,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// TenantPut changes a tenant; Version must be the tenant's current version.
type TenantPut struct {
	Version     int64    `json:"version"`
	Name        *string  `json:"name,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
	CustomerID  *string  `json:"customer_id,omitempty"`
	InternalTag *string  `json:"internal_tag,omitempty"`
	Language    *string  `json:"language,omitempty"`
	Contact     *Contact `json:"contact,omitempty"`
}

// TenantFilter selects tenants for ListTenants; set exactly one of
// SubtreeRootID, ParentID or UUIDs (at most 100).
type TenantFilter struct {
	SubtreeRootID string
	ParentID      string
	UUIDs         []string
	Lod           string // stamps, basic, full (default)
	Limit         int
}

// ListTenants walks every page of GET /api/2/tenants.
func (c *Client) ListTenants(ctx context.Context, f TenantFilter) iter.Seq2[[]Tenant, error] {
	q := url.Values{}
	n := 0
	if f.SubtreeRootID != "" {
		q.Set("subtree_root_id", f.SubtreeRootID)
		n++
	}
	if f.ParentID != "" {
		q.Set("parent_id", f.ParentID)
		n++
	}
	if len(f.UUIDs) > 0 {
		q.Set("uuids", strings.Join(f.UUIDs, ","))
		n++
	}
	var err error
	switch {
	case n != 1:
		err = errors.New("acronis: list tenants: set exactly one of subtree_root_id, parent_id, uuids")
	case len(f.UUIDs) > MaxBatch:
		err = fmt.Errorf("acronis: list tenants: uuids: %d ids, at most %d", len(f.UUIDs), MaxBatch)
	}
	if err != nil {
		return func(yield func([]Tenant, error) bool) { yield(nil, err) }
	}
	if f.Lod != "" {
		q.Set("lod", f.Lod)
	}
	return Pages[Tenant](ctx, c, "/api/2/tenants", q, f.Limit)
}

// GetTenant reads one tenant.
func (c *Client) GetTenant(ctx context.Context, id string) (Tenant, error) {
	if err := CheckUUID(id); err != nil {
		return Tenant{}, fmt.Errorf("acronis: get tenant: id: %w", err)
	}
	var t Tenant
	err := c.Do(ctx, Request{Method: "GET", Path: "/api/2/tenants/" + id}, &t)
	return t, err
}

// CreateTenant creates a tenant (201). Names are unique in the hierarchy:
// a clash is an APIError with CodeTenantNameConflict.
func (c *Client) CreateTenant(ctx context.Context, p TenantPost) (Tenant, error) {
	var t Tenant
	err := c.Do(ctx, Request{Method: "POST", Path: "/api/2/tenants", Body: p}, &t)
	return t, err
}

// UpdateTenant changes a tenant; a stale version is CodeVersionMismatch.
func (c *Client) UpdateTenant(ctx context.Context, id string, p TenantPut) (Tenant, error) {
	if err := CheckUUID(id); err != nil {
		return Tenant{}, fmt.Errorf("acronis: update tenant: id: %w", err)
	}
	var t Tenant
	err := c.Do(ctx, Request{Method: "PUT", Path: "/api/2/tenants/" + id, Body: p}, &t)
	return t, err
}

// DeleteTenant deletes a disabled tenant (204) at the given version.
func (c *Client) DeleteTenant(ctx context.Context, id string, version int64) error {
	if err := CheckUUID(id); err != nil {
		return fmt.Errorf("acronis: delete tenant: id: %w", err)
	}
	return c.Do(ctx, Request{
		Method: "DELETE",
		Path:   "/api/2/tenants/" + id,
		Query:  url.Values{"version": {strconv.FormatInt(version, 10)}},
	}, nil)
}

// CheckUUID accepts the platform's lower-case 8-4-4-4-12 ids. Legacy numeric
// tenant ids (usage and policy contexts) are not UUIDs and must not pass.
func CheckUUID(s string) error {
	if len(s) != 36 {
		return fmt.Errorf("%q is not a UUID", inputcheck.Truncate(s, 40))
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return fmt.Errorf("%q is not a UUID", s)
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
				return fmt.Errorf("%q is not a UUID", s)
			}
		}
	}
	return nil
}
