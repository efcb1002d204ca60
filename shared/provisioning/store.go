package provisioning

import (
	"context"
	"errors"
	"time"
)

// State is what provisioning remembers per CRM customer, so a retried or
// duplicated event finishes what is missing and repeats nothing. It belongs
// to one tenant: when that tenant is gone, the state starts over.
type State struct {
	TenantID  string            `json:"tenant_id,omitempty"`
	Users     map[string]string `json:"users,omitempty"`     // folded login -> user id
	Activated map[string]bool   `json:"activated,omitempty"` // folded login -> activation e-mail sent
	Steps     map[string]bool   `json:"steps,omitempty"`     // finished one-time steps
	Retired   bool              `json:"retired,omitempty"`   // customer.deleted disabled the tenant and kept it
}

func newState() State {
	return State{Users: map[string]string{}, Activated: map[string]bool{}, Steps: map[string]bool{}}
}

func (s *State) init() {
	if s.Users == nil {
		s.Users = map[string]string{}
	}
	if s.Activated == nil {
		s.Activated = map[string]bool{}
	}
	if s.Steps == nil {
		s.Steps = map[string]bool{}
	}
}

// EventStatus is how far the intake got with an event id.
type EventStatus string

// Event statuses: a new id, one recorded but maybe not queued, one queued.
const (
	EventNew      EventStatus = ""
	EventReceived EventStatus = "received"
	EventQueued   EventStatus = "queued"
)

// Store keeps event ids (replay protection) and per-customer state under a
// lease.
type Store interface {
	// RecordEvent records an event id as received unless it is known, and
	// returns the status it had before (EventNew when just recorded).
	RecordEvent(ctx context.Context, id string, ttl time.Duration) (EventStatus, error)
	// MarkQueued notes that the event reached the queue.
	MarkQueued(ctx context.Context, id string) error
	// Lock takes the customer's lease until the given time; false while
	// someone else holds an unexpired one.
	Lock(ctx context.Context, crmID, owner string, until time.Time) (bool, error)
	Unlock(ctx context.Context, crmID, owner string) error
	Load(ctx context.Context, crmID string) (State, error)
	// Save writes the state only while owner holds an unexpired lease;
	// otherwise it fails with ErrLockLost.
	Save(ctx context.Context, crmID, owner string, st State) error
}

// ErrLockLost means the lease expired (and someone else may hold it now).
var ErrLockLost = errors.New("provisioning lease lost")
