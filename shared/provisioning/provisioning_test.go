package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/provisioning"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// NewTable creates a provisioning table in moto.
func newTable(t *testing.T) *provisioning.DynamoDB {
	t.Helper()
	c := dynamodb.NewFromConfig(mototest.Atomic(mototest.Get(t).Config()))
	name := mototest.Name("provisioning")
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &provisioning.DynamoDB{Client: c, Table: name}
}

type env struct {
	sim    *acronistest.Server
	parent string
	p      *provisioning.Provisioner
}

func setup(t *testing.T, cfg provisioning.Config, rt func(http.RoundTripper) http.RoundTripper) *env {
	t.Helper()
	sim := acronistest.NewServer(t, acronistest.Config{})
	parent := sim.AddTenant(acronistest.TenantSpec{Name: "MSP Partner", Kind: "partner"})
	id, secret := sim.AddAPIClient("")
	// Every answer is checked against the OpenAPI documents by the simulator itself.
	var base = http.DefaultTransport
	if rt != nil {
		base = rt(base)
	}
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{Base: base, Retry: httpretry.Policy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	src := acronis.NewCachedSource(&acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: id, ClientSecret: secret}, HTTP: hc}, 0)
	client, _ := acronis.NewClient(sim.URL(), src, hc)
	cfg.ParentTenantID = parent
	return &env{sim: sim, parent: parent, p: &provisioning.Provisioner{API: client, Store: newTable(t), Config: cfg}}
}

func event(t *testing.T, body string) webhook.Event {
	t.Helper()
	e, err := webhook.ParseEvent([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const created = `{"id":"evt-1","type":"customer.created","customer":{"crm_id":"CRM-42","name":"Acme GmbH","language":"de",
 "edition":"pck_per_gigabyte","production_pricing":true,"contact":{"email":"it@acme.example","firstname":"Ida"},
 "admin":{"login":"acme-admin","email":"admin@acme.example","firstname":"Ada","lastname":"Admin"}}}`

func (e *env) tenants(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, id := range e.childIDs(t) {
		m, _ := e.sim.Tenant(id)
		out = append(out, m)
	}
	return out
}

func (e *env) childIDs(t *testing.T) []string {
	var ids []string
	for page, err := range e.p.API.ListTenants(context.Background(), acronis.TenantFilter{ParentID: e.parent}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range page {
			ids = append(ids, tn.ID)
		}
	}
	return ids
}

func TestCreated(t *testing.T) {
	ctx := context.Background()
	e := setup(t, provisioning.Config{}, nil)
	res, err := e.p.Handle(ctx, event(t, created))
	if err != nil {
		t.Fatal(err)
	}
	ts := e.tenants(t)
	if len(ts) != 1 || ts[0]["customer_id"] != "CRM-42" || ts[0]["language"] != "de" || ts[0]["pricing_mode"] != "production" || ts[0]["kind"] != "customer" {
		t.Fatalf("tenants %v", ts)
	}
	// One storage location (the first offered), its DR item, not the other
	// location's storage or DR item (the seed's filter).
	items := e.sim.TenantOfferingItems(res.TenantID)
	if want := "local_storage pg_base_storage pg_dr_cloud_servers pg_base_workstations pg_base_servers"; strings.Join(items, " ") != want {
		t.Fatalf("offering items %v, want %s", items, want)
	}
	if got := e.sim.UsersOf(res.TenantID); len(got) != 1 || got[0] != "acme-admin" || e.sim.ActivationEmails("acme-admin") != 1 ||
		strings.Join(e.sim.UserRoles("acme-admin"), ",") != provisioning.DefaultAdminRole {
		t.Fatalf("users %v, activations %d, roles %v", got, e.sim.ActivationEmails("acme-admin"), e.sim.UserRoles("acme-admin"))
	}
	// The same event again: nothing new.
	again, err := e.p.Handle(ctx, event(t, created))
	if err != nil || len(again.Actions) != 0 || len(e.tenants(t)) != 1 || e.sim.ActivationEmails("acme-admin") != 1 {
		t.Fatalf("redelivery: %+v %v", again, err)
	}
}

// Five deliveries at once: one tenant, one user, one e-mail. The losers are
// told to retry (ErrBusy) or find the work done.
func TestConcurrentDuplicates(t *testing.T) {
	ctx := context.Background()
	e := setup(t, provisioning.Config{}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := e.p.Handle(ctx, event(t, created))
				if errors.Is(err, provisioning.ErrBusy) {
					time.Sleep(20 * time.Millisecond) // SQS would redeliver later
					continue
				}
				errs <- err
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.tenants(t)); n != 1 || e.sim.ActivationEmails("acme-admin") != 1 || e.sim.CountRequests("POST", "/api/2/tenants") != 1 {
		t.Fatalf("%d tenants, %d activation e-mails, %d creates", n, e.sim.ActivationEmails("acme-admin"), e.sim.CountRequests("POST", "/api/2/tenants"))
	}
}

// A 5xx storm after the tenant exists: the run fails, the retry finishes the
// rest without duplicates.
func TestResumesAfterFailure(t *testing.T) {
	ctx := context.Background()
	e := setup(t, provisioning.Config{}, nil)
	e.sim.SetFaults(acronistest.Faults{Rate5xx: 1, PathPrefix: "/api/2/users", SkipTokenEP: true})
	if _, err := e.p.Handle(ctx, event(t, created)); err == nil {
		t.Fatal("the storm did not fail the run")
	}
	if len(e.tenants(t)) != 1 || len(e.sim.UsersOf(e.childIDs(t)[0])) != 0 {
		t.Fatal("expected the tenant and no user after the storm")
	}
	e.sim.SetFaults(acronistest.Faults{})
	res, err := e.p.Handle(ctx, event(t, created))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.tenants(t)) != 1 || e.sim.ActivationEmails("acme-admin") != 1 || strings.Contains(strings.Join(res.Actions, ";"), "created customer tenant") {
		t.Fatalf("retry: %+v", res)
	}
}

// A tenant created but not recorded (the process died in between) is found
// by the mark this integration writes.
func TestHealsUnrecordedTenant(t *testing.T) {
	ctx := context.Background()
	e := setup(t, provisioning.Config{}, nil)
	e.sim.AddTenant(acronistest.TenantSpec{Name: "Acme GmbH", Kind: "customer", ParentID: e.parent, CustomerID: "CRM-42", InternalTag: "crm:CRM-42"})
	if _, err := e.p.Handle(ctx, event(t, created)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.tenants(t)); n != 1 {
		t.Fatalf("%d tenants", n)
	}
}

func TestTakenLoginReported(t *testing.T) {
	e := setup(t, provisioning.Config{}, nil)
	e.sim.TakeLogin("acme-admin")
	res, err := e.p.Handle(context.Background(), event(t, created))
	if err != nil || len(res.TakenLogins) != 1 || res.TakenLogins[0] != "acme-admin" || len(e.sim.UsersOf(res.TenantID)) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestNameTakenByAnotherTenant(t *testing.T) {
	e := setup(t, provisioning.Config{}, nil)
	e.sim.AddTenant(acronistest.TenantSpec{Name: "Acme GmbH", Kind: "customer", ParentID: e.parent, CustomerID: "CRM-OTHER"})
	_, err := e.p.Handle(context.Background(), event(t, created))
	if err == nil || !strings.Contains(err.Error(), "taken by another tenant") || !acronis.HasCode(err, "1004") {
		t.Fatalf("err %v", err)
	}
}

// bumpOnPut changes the tenant behind the job's back before the first PUT,
// so the job's version is stale (1001) once.
type bumpOnPut struct {
	next  http.RoundTripper
	bump  func()
	fired atomic.Bool // not sync.Once: bump's own PUT comes through here too
}

func (b *bumpOnPut) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/api/2/tenants/") && !strings.Contains(r.URL.Path, "offering") && !strings.Contains(r.URL.Path, "pricing") && !strings.Contains(r.URL.Path, "edition") {
		if b.bump != nil && !b.fired.Swap(true) {
			b.bump()
		}
	}
	return b.next.RoundTrip(r)
}

func TestLifecycleEvents(t *testing.T) {
	ctx := context.Background()
	var e *env
	bump := &bumpOnPut{}
	e = setup(t, provisioning.Config{AllowDeletion: true}, func(next http.RoundTripper) http.RoundTripper { bump.next = next; return bump })
	res, err := e.p.Handle(ctx, event(t, created))
	if err != nil {
		t.Fatal(err)
	}
	tid := res.TenantID
	bump.bump = func() {
		// Someone renames the tenant in the console meanwhile.
		tn, _ := e.p.API.GetTenant(ctx, tid)
		other := "Acme (console)"
		if _, err := e.p.API.UpdateTenant(ctx, tid, acronis.TenantPut{Version: tn.Version, Name: &other}); err != nil {
			t.Error(err)
		}
	}
	steps := []struct {
		body  string
		check func() error
	}{
		{`{"id":"evt-2","type":"customer.updated","customer":{"crm_id":"CRM-42","name":"Acme AG","contact":{"email":"new@acme.example"}}}`, func() error {
			if m, _ := e.sim.Tenant(tid); m["name"] != "Acme AG" {
				return fmt.Errorf("name %v", m["name"])
			}
			return nil
		}},
		{`{"id":"evt-2b","type":"customer.suspended","customer":{"crm_id":"CRM-42"}}`, func() error {
			mismatches := 0
			for _, r := range e.sim.Requests() {
				if r.Method == "PUT" && r.Path == "/api/2/tenants/"+tid && r.Status == 409 {
					mismatches++
				}
			}
			if mismatches != 1 {
				return fmt.Errorf("%d version mismatches answered; the retry path was not exercised", mismatches)
			}
			return nil
		}},
		{`{"id":"evt-2c","type":"customer.reactivated","customer":{"crm_id":"CRM-42"}}`, nil},
		{`{"id":"evt-3","type":"customer.updated","customer":{"crm_id":"CRM-42","edition":"pck_per_workload"}}`, func() error {
			if items := e.sim.TenantOfferingItems(tid); strings.Join(items, " ") != "pw_base_storage pw_base_workstations local_storage" {
				return fmt.Errorf("items %v", items)
			}
			return nil
		}},
		{`{"id":"evt-4","type":"customer.updated","customer":{"crm_id":"CRM-42","quotas":{"pw_base_workstations":25}}}`, nil},
		{`{"id":"evt-5","type":"customer.suspended","customer":{"crm_id":"CRM-42"}}`, func() error {
			if m, _ := e.sim.Tenant(tid); m["enabled"] != false {
				return fmt.Errorf("still enabled")
			}
			return nil
		}},
		{`{"id":"evt-6","type":"customer.reactivated","customer":{"crm_id":"CRM-42"}}`, func() error {
			if m, _ := e.sim.Tenant(tid); m["enabled"] != true {
				return fmt.Errorf("still disabled")
			}
			return nil
		}},
		{`{"id":"evt-7","type":"customer.deleted","customer":{"crm_id":"CRM-42"}}`, func() error {
			if _, err := e.p.API.GetTenant(ctx, tid); !acronis.HasStatus(err, 404) {
				return fmt.Errorf("tenant still there: %v", err)
			}
			return nil
		}},
		{`{"id":"evt-8","type":"customer.deleted","customer":{"crm_id":"CRM-42"}}`, nil}, // again: nothing to do
	}
	for _, s := range steps {
		ev := event(t, s.body)
		res, err := e.p.Handle(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", ev.ID, err)
		}
		if ev.ID == "evt-3" && len(res.Warnings) == 0 {
			t.Fatal("the edition dry run's warnings were not returned")
		}
		if s.check != nil {
			if err := s.check(); err != nil {
				t.Fatalf("%s: %v", ev.ID, err)
			}
		}
	}
}

func TestDeletionNotAllowed(t *testing.T) {
	ctx := context.Background()
	e := setup(t, provisioning.Config{}, nil)
	res, _ := e.p.Handle(ctx, event(t, created))
	del, err := e.p.Handle(ctx, event(t, `{"id":"evt-9","type":"customer.deleted","customer":{"crm_id":"CRM-42"}}`))
	if err != nil || len(del.Warnings) == 0 || !strings.Contains(del.Warnings[0], "does not allow deletion") {
		t.Fatalf("%+v %v", del, err)
	}
	if m, ok := e.sim.Tenant(res.TenantID); !ok || m["enabled"] != false || m["deleted_at"] != nil {
		t.Fatalf("tenant %v", m)
	}
}

func strp(s string) *string { return &s }

// Users from Advanced Automation: every enabled client with an e-mail and a
// login, created once however often the sync runs.
func TestSyncPSAUsers(t *testing.T) {
	ctx := context.Background()
	e := setup(t, provisioning.Config{}, nil)
	res, err := e.p.Handle(ctx, event(t, created))
	if err != nil {
		t.Fatal(err)
	}
	var clients []map[string]any
	for i := range 60 { // more than one PSA page
		c := map[string]any{"FirstName": "User", "LastName": fmt.Sprint(i), "Email": fmt.Sprintf("u%d@acme.example", i), "Username": fmt.Sprintf("acme-u%02d", i), "Enabled": true, "IsLogin": true, "Deleted": false}
		switch i % 10 {
		case 1:
			c["Enabled"] = false
		case 2:
			c["IsLogin"], c["Username"] = false, nil
		case 3:
			c["Email"] = "Unknown"
		}
		clients = append(clients, c)
	}
	e.sim.AddPSACustomer("Acme GmbH", res.TenantID, clients)
	sync := `{"id":"evt-s1","type":"customer.sync_users","customer":{"crm_id":"CRM-42"}}`
	for run := range 2 {
		e.sim.ResetLog()
		if _, err := e.p.Handle(ctx, event(t, sync)); err != nil {
			t.Fatal(err)
		}
		// The tenant's users are listed once a run, not once per client.
		if n := e.sim.CountRequests("GET", "/api/2/tenants/"+res.TenantID+"/users"); run == 0 && n != 1 {
			t.Fatalf("the tenant's users listed %d times in one sync", n)
		}
	}
	users := e.sim.UsersOf(res.TenantID)
	if len(users) != 1+42 { // the admin, and 60 minus 18 skipped
		t.Fatalf("%d users: %v", len(users), users)
	}
	if e.sim.ActivationEmails("acme-u00") != 1 || e.sim.ActivationEmails("acme-u01") != 0 {
		t.Fatal("activation e-mails wrong")
	}
	_ = strp
}

type brokenQueue struct{}

func (brokenQueue) Enqueue(context.Context, webhook.Event, []byte) error {
	return errors.New("SQS down")
}

// An event that could not be queued is forgotten, so the CRM's retry is accepted.
func TestIntakeQueueFailure(t *testing.T) {
	ctx := context.Background()
	key := []byte("k-0123456789abcdef")
	store := newTable(t)
	body := []byte(created)
	ts := fmt.Sprint(time.Now().Unix())
	hdr := func(n string) string {
		return map[string]string{"X-Timestamp": ts, "X-Signature": webhook.Sign(key, ts, body)}[n]
	}
	in := &provisioning.Intake{Key: func(context.Context) ([]byte, error) { return key, nil }, Store: store, Queue: brokenQueue{}}
	if r := in.Accept(ctx, hdr, body); r.Status != 503 {
		t.Fatalf("queue down: %d %s", r.Status, r.Body)
	}
	in.Queue = &memQueue{}
	if r := in.Accept(ctx, hdr, body); r.Status != 202 {
		t.Fatalf("retry after the queue recovered: %d %s", r.Status, r.Body)
	}
	if r := in.Accept(ctx, hdr, body); r.Status != 409 {
		t.Fatalf("replay of a queued event: %d %s", r.Status, r.Body)
	}
}

// Bad input is refused before anything is recorded: the same event id,
// sent right, is then accepted.
func TestIntakeRefusesBeforeRecording(t *testing.T) {
	ctx := context.Background()
	key := []byte("k-0123456789abcdef")
	q := &memQueue{}
	in := &provisioning.Intake{Key: func(context.Context) ([]byte, error) { return key, nil }, Store: newTable(t), Queue: q}
	send := func(body string) provisioning.Response {
		ts := fmt.Sprint(time.Now().Unix())
		return in.Accept(ctx, func(n string) string {
			return map[string]string{"X-Timestamp": ts, "X-Signature": webhook.Sign(key, ts, []byte(body))}[n]
		}, []byte(body))
	}
	tests := []struct {
		body   string
		status int
		field  string
	}{
		{strings.Replace(created, `"Acme GmbH"`, `"Acme\u202eHbmG"`, 1), 400, `"field":"customer.name"`},
		{strings.Replace(created, `"id":"evt-1"`, `"id":"evt-1","ID":"evt-2"`, 1), 400, `"field":"ID"`},
		{strings.Replace(created, `"language":"de"`, `"language":"de","quotas":{"pg_base_workstations":2.5}`, 1), 400, `"field":"customer.quotas.pg_base_workstations"`},
		{strings.Replace(created, `"Acme GmbH"`, `"`+strings.Repeat("a", webhook.MaxBody)+`"`, 1), 413, `"field":"(body)"`},
		{created, 202, `"accepted":"evt-1"`},
	}
	for _, tt := range tests {
		if r := send(tt.body); r.Status != tt.status || !strings.Contains(r.Body, tt.field) {
			t.Fatalf("%d %s, want %d with %s", r.Status, r.Body, tt.status, tt.field)
		}
	}
	if q.n != 1 {
		t.Fatalf("%d events queued, want 1", q.n)
	}
}

type memQueue struct{ n int }

func (q *memQueue) Enqueue(context.Context, webhook.Event, []byte) error { q.n++; return nil }

// A user of another customer with the admin's login (any case) is neither
// adopted nor touched: GET /users?tenant_id= does not filter on the
// platform ("Not used otherwise"), so only the tenant's own users may match.
func TestForeignUserSameLoginUntouched(t *testing.T) {
	for _, login := range []string{"acme-admin", "ACME-Admin"} {
		t.Run(login, func(t *testing.T) {
			e := setup(t, provisioning.Config{}, nil)
			other := e.sim.AddTenant(acronistest.TenantSpec{Name: "Other Co", Kind: "customer", ParentID: e.parent})
			e.sim.AddUser(other, login, "company_admin")
			before := e.sim.UserPolicies(login)
			res, err := e.p.Handle(context.Background(), event(t, created))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.TakenLogins) != 1 || !strings.EqualFold(res.TakenLogins[0], "acme-admin") {
				t.Fatalf("taken logins %v, want acme-admin reported", res.TakenLogins)
			}
			if e.sim.ActivationEmails(login) != 0 || fmt.Sprint(e.sim.UserPolicies(login)) != fmt.Sprint(before) {
				t.Fatalf("foreign user touched: %d e-mails, policies %v (were %v)", e.sim.ActivationEmails(login), e.sim.UserPolicies(login), before)
			}
			if len(e.sim.UsersOf(res.TenantID)) != 0 {
				t.Fatalf("users %v in the new tenant", e.sim.UsersOf(res.TenantID))
			}
		})
	}
}

// customer.updated acts on all it accepts: production pricing and the
// language too, not only name, contact, edition and quotas.
func TestUpdateToProductionAndLanguage(t *testing.T) {
	ctx := context.Background()
	e := setup(t, provisioning.Config{}, nil)
	trial := strings.Replace(created, `"production_pricing":true`, `"production_pricing":false`, 1)
	res, err := e.p.Handle(ctx, event(t, trial))
	if err != nil {
		t.Fatal(err)
	}
	if pr, err := e.p.API.GetPricing(ctx, res.TenantID); err != nil || pr.Mode == "production" {
		t.Fatalf("created in production already: %+v %v", pr, err)
	}
	if _, err := e.p.Handle(ctx, event(t, `{"id":"evt-u","type":"customer.updated","customer":{"crm_id":"CRM-42","language":"fr","production_pricing":true}}`)); err != nil {
		t.Fatal(err)
	}
	pr, err := e.p.API.GetPricing(ctx, res.TenantID)
	if m, _ := e.sim.Tenant(res.TenantID); err != nil || pr.Mode != "production" || m["language"] != "fr" {
		t.Fatalf("pricing %+v %v, language %v", pr, err, m["language"])
	}
}
