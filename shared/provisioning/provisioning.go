// Package provisioning turns CRM events into Acronis tenants, offering
// items, pricing, users and roles. It touches only what it owns: tenants
// carrying its mark (internal_tag "crm:<id>") under the configured parent,
// and users of those tenants. Every step looks before it creates and records
// what it made under a per-customer lease, so the same event delivered again,
// five times at once, or after a failure half-way finishes what is missing
// and creates nothing twice.
//
// Its AWS adapters live here, beside the interfaces they implement, because
// what they hold is this package's own: DynamoDB (dynamodb.go) is the Store
// of event ids and per-customer state, SQSQueue (sqs.go) the Queue between
// intake and worker; Memory is the Store of tests and the demo. Elsewhere
// the same rule puts S3 in objstore, Secrets Manager in secrets and SNS in
// notify.
package provisioning

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
)

// Config is the deployment's.
type Config struct {
	ParentTenantID string // where new tenants go
	AllowDeletion  bool   // customer.deleted deletes (otherwise: disabled, kept)
	DefaultRole    string // the CRM admin's role when the event names none (default company_admin)
	PSARole        string // the role of users synced from Advanced Automation (default backup_user)
	StorageInfraID string // the storage location customers get (default: the first one offered)
}

// CyberProtectionApp is the application id of Cyber Protection (the seed's).
const CyberProtectionApp = "6e6d758d-8e74-3ae3-ac84-50eb0dff12eb"

// Default roles: the admin administers the company; PSA-synced people get
// the least privileged role that lets them back up and restore their own.
const (
	DefaultAdminRole = "company_admin"
	DefaultPSARole   = "backup_user"
)

// Lease timing: a run holds its customer's lease until its context's
// deadline plus LeaseMargin, so the lease outlives the function; with no
// deadline (the CLI), for DefaultRunTime.
const (
	LeaseMargin    = time.Minute
	DefaultRunTime = 15 * time.Minute
)

// Provisioner runs events.
type Provisioner struct {
	API    *acronis.Client
	Store  Store
	Config Config
	Log    *slog.Logger
	Now    func() time.Time // the lease clock (tests move it)
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
	until time.Time // the lease's end
	st    State
	res   *Result
	// own is the tenant's own users by folded login, listed once a run
	// (a PSA sync looks up every client).
	own   map[string]acronis.User
	ownOf string // the tenant own lists
}

func (p *Provisioner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Provisioner) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func (r *run) did(format string, args ...any) {
	r.res.Actions = append(r.res.Actions, fmt.Sprintf(format, args...))
}

func (r *run) warn(format string, args ...any) {
	r.res.Warnings = append(r.res.Warnings, fmt.Sprintf(format, args...))
}

// held fails once the lease has run out: every write (to Acronis or to the
// store) asks first, so a run that lost its lease stops before its next
// write instead of racing the next holder.
func (r *run) held() error {
	if !r.p.now().Before(r.until) {
		return fmt.Errorf("customer %s: lease ended at %s: %w", r.ev.Customer.CRMID, r.until.UTC().Format(time.RFC3339), ErrLockLost)
	}
	return nil
}

func (r *run) save(ctx context.Context) error {
	if err := r.held(); err != nil {
		return err
	}
	return r.p.Store.Save(ctx, r.ev.Customer.CRMID, r.owner, r.st)
}

// leaseUntil is the context's deadline plus the margin.
func (p *Provisioner) leaseUntil(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d.Add(LeaseMargin)
	}
	return p.now().Add(DefaultRunTime + LeaseMargin)
}

// Handle runs one event under the customer's lease.
func (p *Provisioner) Handle(ctx context.Context, ev webhook.Event) (Result, error) {
	res := Result{EventID: ev.ID, Type: ev.Type, CRMID: ev.Customer.CRMID, Actions: []string{}}
	r := &run{p: p, ev: ev, owner: ev.ID + "/" + randHex(), until: p.leaseUntil(ctx), res: &res}
	ok, err := p.Store.Lock(ctx, ev.Customer.CRMID, r.owner, r.until)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("customer %s: %w", ev.Customer.CRMID, ErrBusy)
	}
	defer func() { _ = p.Store.Unlock(context.WithoutCancel(ctx), ev.Customer.CRMID, r.owner) }()
	if r.st, err = p.Store.Load(ctx, ev.Customer.CRMID); err != nil {
		return res, err
	}
	err = r.dispatch(ctx)
	res.TenantID = r.st.TenantID
	p.log().InfoContext(ctx, "provisioning event", "event_id", ev.ID, "type", ev.Type, "crm_id", ev.Customer.CRMID,
		"tenant_id", r.st.TenantID, "actions", len(res.Actions), "warnings", res.Warnings, "taken_logins", res.TakenLogins, "error", errText(err))
	if err != nil {
		return res, fmt.Errorf("%s %s (crm_id %s): %w", ev.Type, ev.ID, ev.Customer.CRMID, err)
	}
	return res, nil
}

func (r *run) dispatch(ctx context.Context) error {
	switch r.ev.Type {
	case webhook.CustomerCreated:
		return r.created(ctx)
	case webhook.CustomerUpdated:
		return r.updated(ctx)
	case webhook.CustomerSuspended:
		return r.setEnabled(ctx, false)
	case webhook.CustomerReactivated:
		return r.setEnabled(ctx, true)
	case webhook.CustomerDeleted:
		return r.deleted(ctx)
	case webhook.CustomerSyncUsers:
		return r.syncPSAUsers(ctx)
	}
	return fmt.Errorf("unknown event type %q", r.ev.Type)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func randHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
