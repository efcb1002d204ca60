// Package provisioning turns CRM events into Acronis tenants, offering
// items, pricing, users and roles. Every step looks before it creates and
// records what it made, under a per-customer lease, so the same event
// delivered again, five times at once, or after a failure half-way finishes
// what is missing and creates nothing twice.
package provisioning

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
)

// Config is the deployment's.
type Config struct {
	ParentTenantID string // where new tenants go
	AllowDeletion  bool   // customer.deleted deletes (otherwise: disabled, kept)
	DefaultRole    string // default company_admin
	ApplicationID  string // Cyber Protection's application id, for edition switches
}

// CyberProtectionApp is the application id of Cyber Protection (the seed's).
const CyberProtectionApp = "6e6d758d-8e74-3ae3-ac84-50eb0dff12eb"

// Provisioner runs events.
type Provisioner struct {
	API    *acronis.Client
	Store  Store
	Config Config
	Log    *slog.Logger
	Lease  time.Duration // default 5 minutes
}

// Result says what an event did.
type Result struct {
	EventID     string   `json:"event_id"`
	Type        string   `json:"type"`
	CRMID       string   `json:"crm_id"`
	TenantID    string   `json:"tenant_id,omitempty"`
	Actions     []string `json:"actions"`
	Warnings    []string `json:"warnings,omitempty"`
	TakenLogins []string `json:"taken_logins,omitempty"`
}

// ErrBusy means another delivery of the same customer is in progress; the
// event is retried later (SQS redelivers it).
var ErrBusy = errors.New("another event for this customer is being processed")

type run struct {
	p     *Provisioner
	ev    webhook.Event
	owner string
	st    State
	res   *Result
}

func (r *run) did(format string, args ...any) {
	r.res.Actions = append(r.res.Actions, fmt.Sprintf(format, args...))
}

func (r *run) save(ctx context.Context) error {
	return r.p.Store.Save(ctx, r.ev.Customer.CRMID, r.owner, r.st)
}

// Handle runs one event under the customer's lease.
func (p *Provisioner) Handle(ctx context.Context, ev webhook.Event) (Result, error) {
	res := Result{EventID: ev.ID, Type: ev.Type, CRMID: ev.Customer.CRMID, Actions: []string{}}
	lease := p.Lease
	if lease <= 0 {
		lease = 5 * time.Minute
	}
	owner := ev.ID + "/" + randHex()
	ok, err := p.Store.Lock(ctx, ev.Customer.CRMID, owner, lease)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("customer %s: %w", ev.Customer.CRMID, ErrBusy)
	}
	defer func() { _ = p.Store.Unlock(context.WithoutCancel(ctx), ev.Customer.CRMID, owner) }()
	st, err := p.Store.Load(ctx, ev.Customer.CRMID)
	if err != nil {
		return res, err
	}
	r := &run{p: p, ev: ev, owner: owner, st: st, res: &res}
	switch ev.Type {
	case webhook.CustomerCreated:
		err = r.created(ctx)
	case webhook.CustomerUpdated:
		err = r.updated(ctx)
	case webhook.CustomerSuspended:
		err = r.setEnabled(ctx, false)
	case webhook.CustomerReactivated:
		err = r.setEnabled(ctx, true)
	case webhook.CustomerDeleted:
		err = r.deleted(ctx)
	case webhook.CustomerSyncUsers:
		err = r.syncPSAUsers(ctx)
	default:
		err = fmt.Errorf("unknown event type %q", ev.Type)
	}
	res.TenantID = r.st.TenantID
	if p.Log != nil {
		p.Log.InfoContext(ctx, "provisioning event", "event_id", ev.ID, "type", ev.Type, "crm_id", ev.Customer.CRMID,
			"tenant_id", r.st.TenantID, "actions", len(res.Actions), "warnings", res.Warnings, "error", errText(err))
	}
	if err != nil {
		return res, fmt.Errorf("%s %s (crm_id %s): %w", ev.Type, ev.ID, ev.Customer.CRMID, err)
	}
	return res, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// findTenant returns the customer's tenant: from the state, else by the CRM
// id kept on the tenant (never by name alone), which also heals a crash
// between creating a tenant and recording it.
func (r *run) findTenant(ctx context.Context) (acronis.Tenant, bool, error) {
	if r.st.TenantID != "" {
		t, err := r.p.API.GetTenant(ctx, r.st.TenantID)
		if acronis.HasStatus(err, 404) {
			return acronis.Tenant{}, false, nil
		}
		return t, err == nil, err
	}
	crm := r.ev.Customer.CRMID
	for page, err := range r.p.API.ListTenants(ctx, acronis.TenantFilter{ParentID: r.p.Config.ParentTenantID}) {
		if err != nil {
			return acronis.Tenant{}, false, fmt.Errorf("look up tenant by crm_id: %w", err)
		}
		for _, t := range page {
			if t.CustomerID != nil && *t.CustomerID == crm || t.InternalTag != nil && *t.InternalTag == "crm:"+crm {
				r.st.TenantID = t.ID
				if err := r.save(ctx); err != nil {
					return acronis.Tenant{}, false, err
				}
				return t, true, nil
			}
		}
	}
	return acronis.Tenant{}, false, nil
}

func (r *run) mustTenant(ctx context.Context) (acronis.Tenant, error) {
	t, ok, err := r.findTenant(ctx)
	if err != nil {
		return t, err
	}
	if !ok {
		return t, fmt.Errorf("no tenant carries crm_id %s under %s", r.ev.Customer.CRMID, r.p.Config.ParentTenantID)
	}
	return t, nil
}

func contact(c *webhook.Contact) *acronis.Contact {
	if c == nil {
		return nil
	}
	return &acronis.Contact{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone}
}

func (r *run) created(ctx context.Context) error {
	c := r.ev.Customer
	kind := c.Kind
	if kind == "" {
		kind = acronis.KindCustomer
	}
	t, ok, err := r.findTenant(ctx)
	if err != nil {
		return err
	}
	if !ok {
		post := acronis.TenantPost{Name: c.Name, ParentID: r.p.Config.ParentTenantID, Kind: kind, CustomerID: c.CRMID,
			InternalTag: "crm:" + c.CRMID, Language: c.Language, Contact: contact(c.Contact)}
		t, err = r.p.API.CreateTenant(ctx, post)
		if acronis.HasCode(err, acronis.CodeTenantNameConflict) {
			return fmt.Errorf("create tenant: the name %q is taken by another tenant (not this CRM customer): %w", c.Name, err)
		}
		if err != nil {
			return fmt.Errorf("create tenant: %w", err)
		}
		r.st.TenantID = t.ID
		if err := r.save(ctx); err != nil {
			return err
		}
		r.did("created %s tenant %s", kind, t.ID)
	}
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
	if a := c.Admin; a != nil {
		if err := r.ensureUser(ctx, t.ID, a.Login, a.Email, a.FirstName, a.LastName, r.role(a.Role)); err != nil {
			return err
		}
	}
	if c.SyncUsers {
		return r.syncPSAUsers(ctx)
	}
	return nil
}

func (r *run) role(asked string) string {
	if asked != "" {
		return asked
	}
	if r.p.Config.DefaultRole != "" {
		return r.p.Config.DefaultRole
	}
	return "company_admin"
}

// offering enables the edition's offering items, one storage location only
// for a customer (the seed's rule), with the event's quotas.
func (r *run) offering(ctx context.Context, t acronis.Tenant, kind, edition string) error {
	items, err := r.p.API.AvailableForChild(ctx, r.p.Config.ParentTenantID, kind, edition)
	if err != nil {
		return fmt.Errorf("offering items for %s: %w", edition, err)
	}
	var chosen []acronis.OfferingItem
	infra := false
	for _, it := range items {
		if it.Type() == "infra" && kind == acronis.KindCustomer {
			if infra {
				continue
			}
			infra = true
		}
		chosen = append(chosen, applyQuota(it, r.ev.Customer.Quotas))
	}
	if len(chosen) == 0 {
		return fmt.Errorf("edition %q offers no items to a %s", edition, kind)
	}
	if err := r.p.API.SetOfferingItems(ctx, t.ID, chosen); err != nil {
		return fmt.Errorf("enable offering items: %w", err)
	}
	r.st.Steps["offering:"+edition] = true
	if err := r.save(ctx); err != nil {
		return err
	}
	r.did("enabled %d offering items of %s", len(chosen), edition)
	return nil
}

func applyQuota(it acronis.OfferingItem, quotas map[string]float64) acronis.OfferingItem {
	q, ok := quotas[it.Name()]
	if !ok {
		return it
	}
	c := acronis.OfferingItem{}
	for k, v := range it {
		c[k] = v
	}
	c["quota"] = map[string]any{"value": q, "overage": 0, "version": 0}
	return c
}

// production switches pricing to production: irreversible, so only on request.
func (r *run) production(ctx context.Context, tenantID string) error {
	pr, err := r.p.API.GetPricing(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("read pricing: %w", err)
	}
	if pr.Mode != "production" {
		pr.Mode = "production"
		if _, err := r.p.API.SetPricing(ctx, tenantID, acronis.Pricing{Mode: "production", Version: pr.Version}); err != nil {
			return fmt.Errorf("switch pricing to production: %w", err)
		}
		r.did("switched pricing to production")
	}
	r.st.Steps["pricing"] = true
	return r.save(ctx)
}

// ensureUser makes sure a login exists in the tenant with the role and one
// activation e-mail. A login taken elsewhere is reported, not guessed around.
func (r *run) ensureUser(ctx context.Context, tenantID, login, email, first, last, role string) error {
	id := r.st.Users[login]
	if id == "" {
		users, err := r.p.API.TenantUsers(ctx, tenantID)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		for _, u := range users {
			if u.TenantID == tenantID && sameLogin(u.Login, login) {
				id = u.ID // created before a crash, not recorded: adopt it
			}
		}
	}
	if id == "" {
		free, err := r.p.API.LoginAvailable(ctx, login)
		if err != nil {
			return fmt.Errorf("check login %s: %w", login, err)
		}
		if !free {
			r.res.TakenLogins = append(r.res.TakenLogins, login)
			r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("login %q is taken by another account: user not created", login))
			return nil
		}
		u, err := r.p.API.CreateUser(ctx, tenantID, login, acronis.Contact{Email: email, FirstName: first, LastName: last})
		if err != nil {
			return fmt.Errorf("create user %s: %w", login, err)
		}
		id = u.ID
		r.did("created user %s", login)
	}
	if r.st.Users[login] != id {
		r.st.Users[login] = id
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	if !r.st.Steps["role:"+login+":"+role] {
		if _, err := r.p.API.AddRole(ctx, id, tenantID, role, time.Now()); err != nil {
			return fmt.Errorf("user %s: %w", login, err)
		}
		r.st.Steps["role:"+login+":"+role] = true
		if err := r.save(ctx); err != nil {
			return err
		}
		r.did("gave %s the role %s", login, role)
	}
	if !r.st.Activated[login] {
		if err := r.p.API.SendActivationEmail(ctx, id); err != nil {
			return fmt.Errorf("activation e-mail for %s: %w", login, err)
		}
		r.st.Activated[login] = true
		if err := r.save(ctx); err != nil {
			return err
		}
		r.did("sent the activation e-mail to %s", login)
	}
	return nil
}

// updateTenant applies a change at the tenant's current version; a 1001
// version mismatch (someone changed it meanwhile) re-reads and retries.
func (r *run) updateTenant(ctx context.Context, change func(put *acronis.TenantPut)) (acronis.Tenant, error) {
	for attempt := 1; ; attempt++ {
		t, err := r.mustTenant(ctx)
		if err != nil {
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

func (r *run) updated(ctx context.Context) error {
	c := r.ev.Customer
	t, err := r.mustTenant(ctx)
	if err != nil {
		return err
	}
	if c.Edition != "" {
		app := r.p.Config.ApplicationID
		if app == "" {
			app = CyberProtectionApp
		}
		warnings, err := r.p.API.EditionSwitchCheck(ctx, t.ID, app, c.Edition)
		if err != nil {
			return fmt.Errorf("edition switch dry run: %w", err)
		}
		r.res.Warnings = append(r.res.Warnings, warnings...)
		if err := r.p.API.SwitchEdition(ctx, t.ID, app, c.Edition); err != nil {
			return fmt.Errorf("switch edition to %s: %w", c.Edition, err)
		}
		r.st.Steps["offering:"+c.Edition] = true
		if err := r.save(ctx); err != nil {
			return err
		}
		r.did("switched edition to %s (%d warnings)", c.Edition, len(warnings))
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
		items, err := r.p.API.OfferingItems(ctx, t.ID)
		if err != nil {
			return fmt.Errorf("read offering items: %w", err)
		}
		found := 0
		for i, it := range items {
			if _, ok := c.Quotas[it.Name()]; ok {
				items[i] = applyQuota(it, c.Quotas)
				found++
			}
		}
		if found != len(c.Quotas) {
			return fmt.Errorf("quotas: %d of %d offering items are not enabled for the tenant", len(c.Quotas)-found, len(c.Quotas))
		}
		if err := r.p.API.SetOfferingItems(ctx, t.ID, items); err != nil {
			return fmt.Errorf("set quotas: %w", err)
		}
		r.did("set %d quotas", found)
	}
	if a := c.Admin; a != nil {
		if err := r.ensureUser(ctx, t.ID, a.Login, a.Email, a.FirstName, a.LastName, r.role(a.Role)); err != nil {
			return err
		}
	}
	if c.SyncUsers {
		return r.syncPSAUsers(ctx)
	}
	return nil
}

func (r *run) setEnabled(ctx context.Context, on bool) error {
	t, err := r.mustTenant(ctx)
	if err != nil {
		return err
	}
	if t.Enabled == on {
		r.did("tenant already %s", map[bool]string{true: "enabled", false: "disabled"}[on])
		return nil
	}
	if _, err := r.updateTenant(ctx, func(put *acronis.TenantPut) { put.Enabled = &on }); err != nil {
		return fmt.Errorf("set enabled=%v: %w", on, err)
	}
	r.did("%s tenant %s", map[bool]string{true: "enabled", false: "disabled"}[on], t.ID)
	return nil
}

func (r *run) deleted(ctx context.Context) error {
	if r.st.Deleted {
		r.did("tenant already deleted")
		return nil
	}
	if err := r.setEnabled(ctx, false); err != nil {
		return err
	}
	if !r.p.Config.AllowDeletion {
		r.res.Warnings = append(r.res.Warnings, "tenant disabled and kept: this deployment does not allow deletion (AllowTenantDeletion)")
		return nil
	}
	t, err := r.mustTenant(ctx)
	if err != nil {
		return err
	}
	if err := r.p.API.DeleteTenant(ctx, t.ID, t.Version); err != nil {
		return fmt.Errorf("delete tenant: %w", err)
	}
	r.st.Deleted = true
	if err := r.save(ctx); err != nil {
		return err
	}
	r.did("deleted tenant %s", t.ID)
	return nil
}

// syncPSAUsers gives each enabled PSA client with an e-mail and a login an
// Acronis user with the configured role, once.
func (r *run) syncPSAUsers(ctx context.Context) error {
	t, err := r.mustTenant(ctx)
	if err != nil {
		return err
	}
	cust, ok, err := r.p.API.PSACustomerByTenant(ctx, t.ID)
	if err != nil {
		return fmt.Errorf("PSA customer: %w", err)
	}
	if !ok {
		r.res.Warnings = append(r.res.Warnings, "no Advanced Automation customer is linked to the tenant (ExternalTenantUUID)")
		return nil
	}
	clients, err := r.p.API.PSAClients(ctx, cust.ID)
	if err != nil {
		return fmt.Errorf("PSA clients of %s: %w", cust.ID, err)
	}
	n := 0
	for _, cl := range clients {
		if !cl.Enabled || cl.Deleted || !cl.IsLogin || cl.Username == nil || *cl.Username == "" || !strings.Contains(cl.Email, "@") {
			continue
		}
		if err := r.ensureUser(ctx, t.ID, *cl.Username, cl.Email, cl.FirstName, cl.LastName, r.role("")); err != nil {
			return err
		}
		n++
	}
	r.did("checked %d PSA clients with a login", n)
	return nil
}

func randHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sameLogin compares logins as the platform does: ASCII letters fold, nothing
// else does (strings.EqualFold would match the Kelvin sign to "k").
func sameLogin(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
