package provisioning

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
)

// Mark is the internal_tag this integration writes on the tenants it
// creates. Tenants are found by it alone: customer_id is a free field other
// integrations and people fill in, so a match there proves nothing.
func Mark(crmID string) string { return "crm:" + crmID }

func (r *run) ours(t acronis.Tenant) bool {
	return t.InternalTag != nil && *t.InternalTag == Mark(r.ev.Customer.CRMID) &&
		t.ParentID == r.p.Config.ParentTenantID && t.DeletedAt == nil
}

// findTenant returns the customer's tenant: the recorded one if it is still
// there, under the parent and marked; else the one tenant under the parent
// carrying the mark (which also heals a crash between creating a tenant and
// recording it). A recorded tenant that is gone resets the state.
func (r *run) findTenant(ctx context.Context) (acronis.Tenant, bool, error) {
	if id := r.st.TenantID; id != "" {
		t, err := r.p.API.GetTenant(ctx, id)
		switch {
		case acronis.HasStatus(err, 404) || err == nil && t.DeletedAt != nil:
			r.p.log().WarnContext(ctx, "recorded tenant is gone; forgetting its state", "crm_id", r.ev.Customer.CRMID, "tenant_id", id)
			r.st = newState()
			if err := r.save(ctx); err != nil {
				return acronis.Tenant{}, false, err
			}
		case err != nil:
			return acronis.Tenant{}, false, fmt.Errorf("read recorded tenant %s: %w", id, err)
		case !r.ours(t):
			return acronis.Tenant{}, false, fmt.Errorf("recorded tenant %s is no longer under %s with internal_tag %q: not touching it",
				id, r.p.Config.ParentTenantID, Mark(r.ev.Customer.CRMID))
		default:
			return t, true, nil
		}
	}
	return r.findMarked(ctx)
}

func (r *run) findMarked(ctx context.Context) (acronis.Tenant, bool, error) {
	var found []acronis.Tenant
	for page, err := range r.p.API.ListTenants(ctx, acronis.TenantFilter{ParentID: r.p.Config.ParentTenantID}) {
		if err != nil {
			return acronis.Tenant{}, false, fmt.Errorf("look up tenant by internal_tag: %w", err)
		}
		for _, t := range page {
			if r.ours(t) {
				found = append(found, t)
			}
		}
	}
	switch len(found) {
	case 0:
		return acronis.Tenant{}, false, nil
	case 1:
		r.st.TenantID = found[0].ID
		return found[0], true, r.save(ctx)
	}
	ids := make([]string, len(found))
	for i, t := range found {
		ids[i] = t.ID
	}
	return acronis.Tenant{}, false, fmt.Errorf("tenants %s all carry internal_tag %q under %s: resolve by hand, nothing was changed",
		strings.Join(ids, " and "), Mark(r.ev.Customer.CRMID), r.p.Config.ParentTenantID)
}

func (r *run) mustTenant(ctx context.Context) (acronis.Tenant, error) {
	t, ok, err := r.findTenant(ctx)
	if err != nil {
		return t, err
	}
	if !ok {
		return t, fmt.Errorf("no tenant carries internal_tag %q under %s", Mark(r.ev.Customer.CRMID), r.p.Config.ParentTenantID)
	}
	return t, nil
}

func contact(c *webhook.Contact) *acronis.Contact {
	if c == nil {
		return nil
	}
	return &acronis.Contact{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone}
}

// createTenant makes the customer's tenant with the mark, and starts a
// fresh state for it.
func (r *run) createTenant(ctx context.Context, kind string) (acronis.Tenant, error) {
	c := r.ev.Customer
	if err := r.held(); err != nil {
		return acronis.Tenant{}, err
	}
	post := acronis.TenantPost{Name: c.Name, ParentID: r.p.Config.ParentTenantID, Kind: kind, CustomerID: c.CRMID,
		InternalTag: Mark(c.CRMID), Language: c.Language, Contact: contact(c.Contact)}
	t, err := r.p.API.CreateTenant(ctx, post)
	if acronis.HasCode(err, acronis.CodeTenantNameConflict) {
		return t, fmt.Errorf("create tenant: the name %q is taken by another tenant (not this CRM customer): %w", c.Name, err)
	}
	if err != nil {
		return t, fmt.Errorf("create tenant: %w", err)
	}
	r.st = newState()
	r.st.TenantID = t.ID
	if err := r.save(ctx); err != nil {
		return t, err
	}
	r.did("created %s tenant %s", kind, t.ID)
	return t, nil
}

func (r *run) created(ctx context.Context) error {
	c := r.ev.Customer
	kind := cmp.Or(c.Kind, acronis.KindCustomer)
	t, ok, err := r.findTenant(ctx)
	switch {
	case err != nil:
		return err
	case !ok:
		if t, err = r.createTenant(ctx, kind); err != nil {
			return err
		}
	case r.st.Retired:
		// The customer comes back after customer.deleted kept its tenant.
		if err := r.setEnabled(ctx, true); err != nil {
			return err
		}
		r.st.Retired = false
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	return r.provision(ctx, t, kind)
}

func (r *run) provision(ctx context.Context, t acronis.Tenant, kind string) error {
	c := r.ev.Customer
	if !r.st.Steps["offering:"+c.Edition] {
		if err := r.offering(ctx, t, kind, c.Edition); err != nil {
			return err
		}
	}
	if c.Production && !r.st.Steps["pricing"] {
		if err := r.production(ctx, t.ID); err != nil {
			return err
		}
	}
	return r.users(ctx, t.ID)
}

func (r *run) role(asked string) string {
	switch {
	case asked != "":
		return asked
	case r.p.Config.DefaultRole != "":
		return r.p.Config.DefaultRole
	}
	return DefaultAdminRole
}

// production switches pricing to production: irreversible, so only on request.
func (r *run) production(ctx context.Context, tenantID string) error {
	pr, err := r.p.API.GetPricing(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("read pricing: %w", err)
	}
	if pr.Mode != "production" {
		if err := r.held(); err != nil {
			return err
		}
		if _, err := r.p.API.SetPricing(ctx, tenantID, acronis.Pricing{Mode: "production", Version: pr.Version}); err != nil {
			return fmt.Errorf("switch pricing to production: %w", err)
		}
		r.did("switched pricing to production")
	}
	r.st.Steps["pricing"] = true
	return r.save(ctx)
}

// updateTenant applies a change at the tenant's current version; a 1001
// version mismatch (someone changed it meanwhile) re-reads and retries.
func (r *run) updateTenant(ctx context.Context, change func(put *acronis.TenantPut)) (acronis.Tenant, error) {
	for attempt := 1; ; attempt++ {
		t, err := r.mustTenant(ctx)
		if err != nil {
			return t, err
		}
		if err := r.held(); err != nil {
			return t, err
		}
		put := acronis.TenantPut{Version: t.Version}
		change(&put)
		t, err = r.p.API.UpdateTenant(ctx, t.ID, put)
		if acronis.HasCode(err, acronis.CodeVersionMismatch) && attempt < 5 {
			continue
		}
		return t, err
	}
}

func (r *run) setEnabled(ctx context.Context, on bool) error {
	word := map[bool]string{true: "enabled", false: "disabled"}[on]
	t, err := r.mustTenant(ctx)
	if err != nil {
		return err
	}
	if t.Enabled == on {
		r.did("tenant already %s", word)
		return nil
	}
	if _, err := r.updateTenant(ctx, func(put *acronis.TenantPut) { put.Enabled = &on }); err != nil {
		return fmt.Errorf("set enabled=%v: %w", on, err)
	}
	r.did("%s tenant %s", word, t.ID)
	return nil
}

// deleted disables the customer's tenant and, where allowed, deletes it and
// forgets its state, so a later customer.created starts over.
func (r *run) deleted(ctx context.Context) error {
	t, ok, err := r.findTenant(ctx)
	if err != nil {
		return err
	}
	if !ok {
		r.did("no tenant of this customer: nothing to delete")
		return nil
	}
	if err := r.setEnabled(ctx, false); err != nil {
		return err
	}
	if !r.p.Config.AllowDeletion {
		r.st.Retired = true
		r.warn("tenant disabled and kept: this deployment does not allow deletion (AllowTenantDeletion)")
		return r.save(ctx)
	}
	if t, err = r.mustTenant(ctx); err != nil {
		return err
	}
	if err := r.held(); err != nil {
		return err
	}
	if err := r.p.API.DeleteTenant(ctx, t.ID, t.Version); err != nil {
		return fmt.Errorf("delete tenant: %w", err)
	}
	r.st = newState()
	r.did("deleted tenant %s", t.ID)
	return r.save(ctx)
}

// users is the last step of both creating and updating a customer: the
// event's admin user, then the PSA users when the event asks for a sync.
func (r *run) users(ctx context.Context, tenantID string) error {
	c := r.ev.Customer
	if a := c.Admin; a != nil {
		if err := r.ensureUser(ctx, tenantID, person{a.Login, a.Email, a.FirstName, a.LastName}, r.role(a.Role)); err != nil {
			return err
		}
	}
	if c.SyncUsers {
		return r.syncPSAUsers(ctx)
	}
	return nil
}
