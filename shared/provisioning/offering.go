package provisioning

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
)

// CustomerItems keeps what a customer may have, by the seed's rule ("Only 1
// location for a customer as well only 1 storage of 1 type"): one storage
// location (infraID, else the first location offered), its first storage
// (infra) item, and no item tied to another location (the seed drops the
// dr_ feature items of the other location). Other kinds keep everything.
func CustomerItems(items []acronis.OfferingItem, kind, infraID string) ([]acronis.OfferingItem, error) {
	if kind != acronis.KindCustomer {
		return items, nil
	}
	loc := infraID
	if loc == "" {
		for _, it := range items {
			if it.Type() == "infra" && it.InfraID() != "" {
				loc = it.InfraID()
				break
			}
		}
	}
	var out []acronis.OfferingItem
	storage := false
	for _, it := range items {
		switch {
		case it.Type() == "infra" && (it.InfraID() != loc || storage):
			continue
		case it.Type() == "infra":
			storage = true
		case it.InfraID() != "" && it.InfraID() != loc:
			continue
		}
		out = append(out, it)
	}
	if infraID != "" && !storage {
		return nil, fmt.Errorf("storage location %s is not offered to a customer", infraID)
	}
	return out, nil
}

// withQuota returns a copy of the item with the event's quota
// when it names the item. The quota goes back at the item's current quota
// version (0 while it has none), as the platform asks.
func withQuota(it acronis.OfferingItem, quotas map[string]*int64, version int64) acronis.OfferingItem {
	c := maps.Clone(it)
	q, ok := quotas[it.Name()]
	if !ok {
		return c
	}
	var value, overage any
	if q != nil {
		value, overage = *q, 0
	}
	if value == nil {
		version = 0 // "Equals to 0 if value and overage are null"
	}
	c["quota"] = map[string]any{"value": value, "overage": overage, "version": version}
	return c
}

// quotaVersions reads the tenant's items of every edition: their current
// quota versions (a retried step sends what the first attempt set).
func (r *run) quotaVersions(ctx context.Context, tenantID string) (map[string]int64, error) {
	items, err := r.p.API.OfferingItems(ctx, tenantID, "*")
	if err != nil {
		return nil, fmt.Errorf("read offering items: %w", err)
	}
	out := map[string]int64{}
	for _, it := range items {
		out[it.Name()] = it.QuotaVersion()
	}
	return out, nil
}

// offering enables the edition's offering items with the event's quotas.
func (r *run) offering(ctx context.Context, t acronis.Tenant, kind, edition string) error {
	offered, err := r.p.API.AvailableForChild(ctx, r.p.Config.ParentTenantID, kind, edition)
	if err != nil {
		return fmt.Errorf("offering items for %s: %w", edition, err)
	}
	items, err := CustomerItems(offered, kind, r.p.Config.StorageInfraID)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("edition %q offers no items to a %s", edition, kind)
	}
	versions, err := r.quotaVersions(ctx, t.ID)
	if err != nil {
		return err
	}
	for i, it := range items {
		items[i] = withQuota(it, r.ev.Customer.Quotas, versions[it.Name()])
		items[i]["status"] = 1 // turned on
	}
	if err := r.held(); err != nil {
		return err
	}
	if err := r.p.API.SetOfferingItems(ctx, t.ID, items); err != nil {
		return fmt.Errorf("enable offering items: %w", err)
	}
	r.st.Steps["offering:"+edition] = true
	if err := r.save(ctx); err != nil {
		return err
	}
	r.did("enabled %d offering items of %s", len(items), edition)
	return nil
}

// setQuotas changes the quotas of items the tenant has, in any edition: the
// platform's list without edition holds only "standard" items.
func (r *run) setQuotas(ctx context.Context, t acronis.Tenant) error {
	quotas := r.ev.Customer.Quotas
	items, err := r.p.API.OfferingItems(ctx, t.ID, "*")
	if err != nil {
		return fmt.Errorf("read offering items: %w", err)
	}
	var missing []string
	for name := range quotas {
		if !slices.ContainsFunc(items, func(it acronis.OfferingItem) bool { return it.Name() == name }) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("quotas: offering items %v are not enabled for the tenant", missing)
	}
	for i, it := range items {
		items[i] = withQuota(it, quotas, it.QuotaVersion())
	}
	if err := r.held(); err != nil {
		return err
	}
	if err := r.p.API.SetOfferingItems(ctx, t.ID, items); err != nil {
		return fmt.Errorf("set quotas: %w", err)
	}
	r.did("set %d quotas", len(quotas))
	return nil
}

func (r *run) switchEdition(ctx context.Context, t acronis.Tenant, edition string) error {
	app := CyberProtectionApp
	warnings, err := r.p.API.EditionSwitchCheck(ctx, t.ID, app, edition)
	if err != nil {
		return fmt.Errorf("edition switch dry run: %w", err)
	}
	r.res.Warnings = append(r.res.Warnings, warnings...)
	if err := r.held(); err != nil {
		return err
	}
	if err := r.p.API.SwitchEdition(ctx, t.ID, app, edition); err != nil {
		return fmt.Errorf("switch edition to %s: %w", edition, err)
	}
	r.st.Steps["offering:"+edition] = true
	if err := r.save(ctx); err != nil {
		return err
	}
	r.did("switched edition to %s (%d warnings)", edition, len(warnings))
	return nil
}

func (r *run) updated(ctx context.Context) error {
	c := r.ev.Customer
	t, err := r.mustTenant(ctx)
	if err != nil {
		return err
	}
	if c.Edition != "" {
		if err := r.switchEdition(ctx, t, c.Edition); err != nil {
			return err
		}
	}
	if c.Name != "" || c.Contact != nil || c.Language != "" {
		if _, err := r.updateTenant(ctx, func(put *acronis.TenantPut) {
			if c.Name != "" {
				put.Name = &c.Name
			}
			put.Contact = contact(c.Contact)
			if c.Language != "" {
				put.Language = &c.Language
			}
		}); err != nil {
			return fmt.Errorf("update tenant: %w", err)
		}
		r.did("updated name/contact")
	}
	if len(c.Quotas) > 0 {
		if err := r.setQuotas(ctx, t); err != nil {
			return err
		}
	}
	if c.Production { // accepted at the webhook, so acted on here too
		if err := r.production(ctx, t.ID); err != nil {
			return err
		}
	}
	return r.users(ctx, t.ID)
}
