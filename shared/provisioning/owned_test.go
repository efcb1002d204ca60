package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/provisioning"
)

// A tenant of someone else with the CRM id in customer_id (a free field)
// stays untouched: ours carry the internal_tag mark.
func TestForeignTenantSameCustomerIDUntouched(t *testing.T) {
	e := setup(t, provisioning.Config{}, nil)
	foreign := e.sim.AddTenant(acronistest.TenantSpec{Name: "Other GmbH", Kind: "customer", ParentID: e.parent, CustomerID: "CRM-42"})
	before, _ := e.sim.Tenant(foreign)
	res, err := e.p.Handle(context.Background(), event(t, created))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := e.sim.Tenant(foreign)
	if res.TenantID == foreign || fmt.Sprint(before) != fmt.Sprint(after) || len(e.sim.TenantOfferingItems(foreign)) != 0 || len(e.sim.UsersOf(foreign)) != 0 {
		t.Fatalf("foreign tenant touched: result tenant %s, before %v, after %v", res.TenantID, before, after)
	}
	if m, _ := e.sim.Tenant(res.TenantID); m["internal_tag"] != "crm:CRM-42" {
		t.Fatalf("new tenant %v carries no mark", m)
	}
}

// Two tenants carrying the mark: the event fails naming both, nothing written.
func TestTwoMarkedTenantsFail(t *testing.T) {
	e := setup(t, provisioning.Config{}, nil)
	a := e.sim.AddTenant(acronistest.TenantSpec{Name: "Acme A", Kind: "customer", ParentID: e.parent, InternalTag: "crm:CRM-42"})
	b := e.sim.AddTenant(acronistest.TenantSpec{Name: "Acme B", Kind: "customer", ParentID: e.parent, InternalTag: "crm:CRM-42"})
	_, err := e.p.Handle(context.Background(), event(t, created))
	if err == nil || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Fatalf("err %v, want one naming %s and %s", err, a, b)
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		if n := e.sim.CountRequests(m, "/api/2/") - e.sim.CountRequests(m, "/api/2/idp/"); n != 0 {
			t.Fatalf("%d %s requests", n, m)
		}
	}
}

// created -> deleted -> created -> deleted: the second deletion is not
// skipped (the first tenant's state does not carry over).
func TestCreatedDeletedTwice(t *testing.T) {
	del := func(id string) string {
		return `{"id":"` + id + `","type":"customer.deleted","customer":{"crm_id":"CRM-42"}}`
	}
	again := strings.Replace(created, `"evt-1"`, `"evt-1b"`, 1)
	for _, allow := range []bool{true, false} {
		t.Run(fmt.Sprint("deletion allowed ", allow), func(t *testing.T) {
			ctx := context.Background()
			e := setup(t, provisioning.Config{AllowDeletion: allow}, nil)
			var tenants []string
			for _, body := range []string{created, del("evt-d1"), again, del("evt-d2")} {
				res, err := e.p.Handle(ctx, event(t, body))
				if err != nil {
					t.Fatal(err)
				}
				if res.Type == "customer.created" {
					tenants = append(tenants, res.TenantID)
				}
			}
			second, ok := e.sim.Tenant(tenants[1])
			switch {
			case allow && (tenants[0] == tenants[1] || ok && second["deleted_at"] == nil):
				t.Fatalf("tenants %v: the second is %v, want a new tenant, deleted", tenants, second)
			case !allow && (tenants[0] != tenants[1] || second["enabled"] != false || second["deleted_at"] != nil):
				t.Fatalf("tenants %v: %v, want the kept tenant, disabled", tenants, second)
			}
		})
	}
}

// clock is a lease clock the tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// afterCreate moves the clock past the lease once the tenant is created.
type afterCreate struct {
	next  http.RoundTripper
	clock *clock
}

func (a afterCreate) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err == nil && r.Method == "POST" && r.URL.Path == "/api/2/tenants" {
		a.clock.Add(time.Hour)
	}
	return resp, err
}

// A run whose lease ran out stops before its next write, Acronis or store.
func TestLeaseExpiredStops(t *testing.T) {
	c := &clock{t: time.Now()}
	e := setup(t, provisioning.Config{}, func(next http.RoundTripper) http.RoundTripper { return afterCreate{next, c} })
	e.p.Now = c.Now
	e.p.Store.(*provisioning.DynamoDB).Now = c.Now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, err := e.p.Handle(ctx, event(t, created))
	if !errors.Is(err, provisioning.ErrLockLost) {
		t.Fatalf("err %v, want the lease lost", err)
	}
	writes := e.sim.CountRequests("POST", "/api/2/") - e.sim.CountRequests("POST", "/api/2/idp/") + e.sim.CountRequests("PUT", "/api/2/")
	if writes != 1 {
		t.Fatalf("%d writes, want only the tenant's creation", writes)
	}
}

// The lease lasts to the context's deadline plus the margin; DynamoDB
// refuses a save after it, whoever asks.
func TestLeaseFollowsDeadline(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Now()}
	store := newTable(t)
	store.Now = c.Now
	deadline := c.Now().Add(10 * time.Minute)
	p := &provisioning.Provisioner{Store: store, Now: c.Now}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ok, err := store.Lock(ctx, "CRM-1", "a", provisioning.LeaseUntilForTest(p, dctx))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	c.Add(10*time.Minute + provisioning.LeaseMargin/2) // past the deadline, inside the margin
	if ok, _ := store.Lock(ctx, "CRM-1", "b", c.Now().Add(time.Minute)); ok {
		t.Fatal("the lease ended at the deadline; it must outlive it")
	}
	if err := store.Save(ctx, "CRM-1", "a", provisioning.State{}); err != nil {
		t.Fatalf("save within the lease: %v", err)
	}
	c.Add(provisioning.LeaseMargin)
	if err := store.Save(ctx, "CRM-1", "a", provisioning.State{}); !errors.Is(err, provisioning.ErrLockLost) {
		t.Fatalf("save after the lease: %v, want ErrLockLost", err)
	}
}

// PSA users: a look-alike of an existing login is refused, not adopted; a
// user of the tenant that already has a role keeps it and gets the PSA role
// added; new users get the least privileged default role.
func TestPSAUsersOwnedOnly(t *testing.T) {
	ctx := context.Background()
	e := setup(t, provisioning.Config{}, nil)
	res, err := e.p.Handle(ctx, event(t, created))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.AddUser(res.TenantID, "kate", "readonly_admin")
	e.sim.AddUser(res.TenantID, "bob", "readonly_admin")
	kate, bob := e.sim.UserPolicies("kate"), e.sim.UserPolicies("bob")
	person := func(user, mail string) map[string]any {
		return map[string]any{"FirstName": "P", "LastName": user, "Email": mail, "Username": user, "Enabled": true, "IsLogin": true, "Deleted": false}
	}
	e.sim.AddPSACustomer("Acme GmbH", res.TenantID, []map[string]any{
		person("\u212Aate", "kate@acme.example"), person("BOB", "bob@acme.example"), person("new-user", "new@acme.example")})
	out, err := e.p.Handle(ctx, event(t, `{"id":"evt-s","type":"customer.sync_users","customer":{"crm_id":"CRM-42"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(e.sim.UserPolicies("kate")) != fmt.Sprint(kate) || e.sim.ActivationEmails("kate") != 0 || !strings.Contains(strings.Join(out.Warnings, ";"), "refused") {
		t.Fatalf("kate touched through a look-alike: %v, warnings %v", e.sim.UserPolicies("kate"), out.Warnings)
	}
	got := e.sim.UserPolicies("bob")
	if len(got) != 2 || fmt.Sprint(got[0]) != fmt.Sprint(bob[0]) || got[1]["role_id"] != provisioning.DefaultPSARole {
		t.Fatalf("bob's policies %v, want %v plus %s", got, bob, provisioning.DefaultPSARole)
	}
	if r := e.sim.UserRoles("new-user"); len(r) != 1 || r[0] != "backup_user" {
		t.Fatalf("new user's roles %v, want backup_user", r)
	}
}

// Quotas of a pck_per_gigabyte customer: its items are not "standard" ones,
// which is all the list gives without edition.
func TestQuotaUpdatePerGigabyte(t *testing.T) {
	ctx := context.Background()
	e := setup(t, provisioning.Config{}, nil)
	res, err := e.p.Handle(ctx, event(t, created))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []int{10, 12} { // twice: the second must send the first's quota version
		body := fmt.Sprintf(`{"id":"evt-q%d","type":"customer.updated","customer":{"crm_id":"CRM-42","quotas":{"pg_base_workstations":%d}}}`, i, v)
		if _, err := e.p.Handle(ctx, event(t, body)); err != nil {
			t.Fatal(err)
		}
		if q := e.sim.OfferingQuota(res.TenantID, "pg_base_workstations"); fmt.Sprint(q["value"]) != fmt.Sprint(v) {
			t.Fatalf("quota %v, want %d", q, v)
		}
	}
}

// A configured storage location: its storage and DR items, none of the other's.
func TestStorageLocation(t *testing.T) {
	const dr = "ba2976d0-c13e-4661-ae60-b4593583fce2"
	e := setup(t, provisioning.Config{StorageInfraID: dr}, nil)
	res, err := e.p.Handle(context.Background(), event(t, created))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(e.sim.TenantOfferingItems(res.TenantID), " "), "local_storage pg_base_storage_dr pg_dr_cloud_servers_dr pg_base_workstations pg_base_servers"; got != want {
		t.Fatalf("items %s, want %s", got, want)
	}
	items := []acronis.OfferingItem{{"name": "a", "type": "infra", "infra_id": "x"}}
	if _, err := provisioning.CustomerItems(items, "customer", dr); err == nil {
		t.Fatal("a location that is not offered was accepted")
	}
}
