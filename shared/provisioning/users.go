package provisioning

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
)

// person is a user to be: from the CRM's admin or a PSA client.
type person struct {
	Login, Email, FirstName, LastName string
}

// foldLogin folds a login as the platform compares logins: ASCII letters
// only (strings.ToLower and EqualFold would fold the Kelvin sign to "k").
func foldLogin(l string) string {
	b := []byte(l)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// ownUser finds a user with the login among the tenant's own users
// (tenant_id checked by the client), listed once per run. Users elsewhere
// never match. A user created later in the run is found in the state.
func (r *run) ownUser(ctx context.Context, tenantID, login string) (id string, activated bool, err error) {
	if r.own == nil || r.ownOf != tenantID {
		users, err := r.p.API.TenantUsers(ctx, tenantID)
		if err != nil {
			return "", false, fmt.Errorf("list users of %s: %w", tenantID, err)
		}
		r.own, r.ownOf = map[string]acronis.User{}, tenantID
		for _, u := range users {
			if u.TenantID == tenantID {
				r.own[foldLogin(u.Login)] = u
			}
		}
	}
	u, ok := r.own[foldLogin(login)]
	return u.ID, ok && u.Activated, nil
}

// takenElsewhere reports a login that belongs to another account: in the
// result and the log, never adopted.
func (r *run) takenElsewhere(ctx context.Context, login string) {
	r.res.TakenLogins = append(r.res.TakenLogins, login)
	r.warn("login %q is taken by another account: user not created", login)
	r.p.log().WarnContext(ctx, "login taken by another account: not created, not adopted", "crm_id", r.ev.Customer.CRMID, "login", login)
}

// ensureUser makes sure the login exists in the tenant with the role and
// one activation e-mail. Only the tenant's own users are adopted (a crash
// between creating and recording one); the role is added to the policies a
// user has, never written over them.
func (r *run) ensureUser(ctx context.Context, tenantID string, who person, role string) error {
	key := foldLogin(who.Login)
	id, activated := r.st.Users[key], r.st.Activated[key]
	if id == "" {
		var err error
		if id, activated, err = r.ownUser(ctx, tenantID, who.Login); err != nil {
			return err
		}
	}
	if id == "" {
		var err error
		if id, err = r.createUser(ctx, tenantID, who); err != nil || id == "" {
			return err
		}
	}
	if r.st.Users[key] != id || activated && !r.st.Activated[key] {
		r.st.Users[key], r.st.Activated[key] = id, activated
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	if err := r.addRole(ctx, id, tenantID, who.Login, role); err != nil {
		return err
	}
	return r.activate(ctx, id, who.Login)
}

// createUser creates the user unless the login is taken elsewhere ("" then).
func (r *run) createUser(ctx context.Context, tenantID string, who person) (string, error) {
	free, err := r.p.API.LoginAvailable(ctx, who.Login)
	if err != nil {
		return "", fmt.Errorf("check login %s: %w", who.Login, err)
	}
	if !free {
		r.takenElsewhere(ctx, who.Login)
		return "", nil
	}
	if err := r.held(); err != nil {
		return "", err
	}
	u, err := r.p.API.CreateUser(ctx, tenantID, who.Login, acronis.Contact{Email: who.Email, FirstName: who.FirstName, LastName: who.LastName})
	if err != nil {
		return "", fmt.Errorf("create user %s: %w", who.Login, err)
	}
	r.did("created user %s", who.Login)
	return u.ID, nil
}

func (r *run) addRole(ctx context.Context, id, tenantID, login, role string) error {
	step := "role:" + foldLogin(login) + ":" + role
	if r.st.Steps[step] {
		return nil
	}
	if err := r.held(); err != nil {
		return err
	}
	added, err := r.p.API.AddRole(ctx, id, tenantID, role, r.p.now())
	if err != nil {
		return fmt.Errorf("user %s: %w", login, err)
	}
	r.st.Steps[step] = true
	if err := r.save(ctx); err != nil {
		return err
	}
	if added {
		r.did("gave %s the role %s", login, role)
	}
	return nil
}

func (r *run) activate(ctx context.Context, id, login string) error {
	key := foldLogin(login)
	if r.st.Activated[key] {
		return nil
	}
	if err := r.held(); err != nil {
		return err
	}
	if err := r.p.API.SendActivationEmail(ctx, id); err != nil {
		return fmt.Errorf("activation e-mail for %s: %w", login, err)
	}
	r.st.Activated[key] = true
	if err := r.save(ctx); err != nil {
		return err
	}
	r.did("sent the activation e-mail to %s", login)
	return nil
}

// syncPSAUsers gives each enabled PSA client with an e-mail and a valid
// login an Acronis user with the PSA role (least privilege), once.
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
		r.warn("no Advanced Automation customer is linked to the tenant (ExternalTenantUUID)")
		return nil
	}
	clients, err := r.p.API.PSAClients(ctx, cust.ID)
	if err != nil {
		return fmt.Errorf("PSA clients of %s: %w", cust.ID, err)
	}
	role := cmp.Or(r.p.Config.PSARole, DefaultPSARole)
	n := 0
	for _, cl := range clients {
		if !cl.Enabled || cl.Deleted || !cl.IsLogin || cl.Username == nil || *cl.Username == "" || !strings.Contains(cl.Email, "@") {
			continue
		}
		if !webhook.ValidLogin(*cl.Username) || webhook.CleanText(cl.FirstName+cl.LastName) != "" || !webhook.ValidEmail(cl.Email) {
			r.warn("PSA client %s: username %q or its name or e-mail is not valid for the platform: refused", cl.ID, *cl.Username)
			continue
		}
		if err := r.ensureUser(ctx, t.ID, person{*cl.Username, cl.Email, cl.FirstName, cl.LastName}, role); err != nil {
			return err
		}
		n++
	}
	r.did("checked %d PSA clients with a login", n)
	return nil
}
