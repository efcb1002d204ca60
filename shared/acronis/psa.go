package acronis

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"strconv"

	"github.com/acp-serverless/acp-serverless/shared/httpretry"
)

// Advanced Automation (PSA) lives under its own base path with the same token.
const psaBase = "/api/advanced-automation/v1"

// PSACustomer is an Advanced Automation customer.
type PSACustomer struct {
	ID                 string `json:"Id"`
	Name               string `json:"Name"`
	ExternalTenantUUID string `json:"ExternalTenantUUID"`
}

// PSAClient is a person of a PSA customer (the seed's /Person answer).
type PSAClient struct {
	ID        string  `json:"Id"`
	Customer  string  `json:"Customer"`
	FirstName string  `json:"FirstName"`
	LastName  string  `json:"LastName"`
	Email     string  `json:"Email"`
	Username  *string `json:"Username"`
	Enabled   bool    `json:"Enabled"`
	IsLogin   bool    `json:"IsLogin"`
	Deleted   bool    `json:"Deleted"`
}

// psaPages walks Page=1,2,... and stops on a short page: AmountOfPages is
// unreliable.
func psaPages[T any](ctx context.Context, c *Client, path string, q url.Values, decode func(body []byte) ([]T, error)) ([]T, error) {
	const size = 50
	var all []T
	for page := 1; page < 10000; page++ {
		qq := url.Values{}
		maps.Copy(qq, q)
		qq.Set("Page", strconv.Itoa(page))
		qq.Set("PageSize", strconv.Itoa(size))
		var raw json.RawMessage
		// A search: safe to repeat on a 5xx although it is a POST.
		if err := c.Do(httpretry.Idempotent(ctx), Request{
			Method: "POST",
			Path:   psaBase + path,
			Query:  qq,
		}, &raw); err != nil {
			return all, err
		}
		items, err := decode(raw)
		if err != nil {
			return all, err
		}
		all = append(all, items...)
		if len(items) < size {
			return all, nil
		}
	}
	return all, nil
}

// PSACustomerByTenant finds the PSA customer linked to a tenant.
func (c *Client) PSACustomerByTenant(ctx context.Context, tenantID string) (PSACustomer, bool, error) {
	all, err := psaPages(ctx, c, "/Customer", nil, func(b []byte) ([]PSACustomer, error) {
		var out struct {
			Customers []PSACustomer `json:"Customers"`
		}
		err := json.Unmarshal(b, &out)
		return out.Customers, err
	})
	if err != nil {
		return PSACustomer{}, false, err
	}
	for _, cu := range all {
		if cu.ExternalTenantUUID == tenantID {
			return cu, true, nil
		}
	}
	return PSACustomer{}, false, nil
}

// PSAClients lists every client (person) of a PSA customer.
func (c *Client) PSAClients(ctx context.Context, customerID string) ([]PSAClient, error) {
	return psaPages(ctx, c, "/Person", url.Values{"Customer": {customerID}}, func(b []byte) ([]PSAClient, error) {
		var out struct {
			Clients []PSAClient `json:"Clients"`
		}
		err := json.Unmarshal(b, &out)
		return out.Clients, err
	})
}
