package huaweicbr

import (
	"context"
	"net/url"
)

// Only the tests read one organization policy (the audit lists them).

// ShowOrganizationPolicy reads one organization policy.
func (c *Client) ShowOrganizationPolicy(ctx context.Context, id string) (OrganizationPolicy, error) {
	var out struct {
		Policy OrganizationPolicy `json:"policy"`
	}
	err := c.get(ctx, "/organization-policies/"+url.PathEscape(id), nil, &out)
	return out.Policy, err
}
