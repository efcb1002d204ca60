package provisioning

import (
	"context"
	"sync"
	"time"
)

// Memory is an in-process Store for the local demo (DynamoDB in Lambda).
type Memory struct {
	mu     sync.Mutex
	events map[string]time.Time
	locks  map[string]lease
	states map[string]State
}

type lease struct {
	owner string
	until time.Time
}

var _ Store = (*Memory)(nil)

func (m *Memory) init() {
	if m.events == nil {
		m.events, m.locks, m.states = map[string]time.Time{}, map[string]lease{}, map[string]State{}
	}
}

// MarkEvent records an event id once.
func (m *Memory) MarkEvent(_ context.Context, id string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if until, ok := m.events[id]; ok && time.Now().Before(until) {
		return false, nil
	}
	m.events[id] = time.Now().Add(ttl)
	return true, nil
}

// ForgetEvent removes an event id.
func (m *Memory) ForgetEvent(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	delete(m.events, id)
	return nil
}

// Lock takes a free or expired lease.
func (m *Memory) Lock(_ context.Context, crmID, owner string, d time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if l, ok := m.locks[crmID]; ok && l.owner != owner && time.Now().Before(l.until) {
		return false, nil
	}
	m.locks[crmID] = lease{owner, time.Now().Add(d)}
	return true, nil
}

// Unlock releases owner's lease.
func (m *Memory) Unlock(_ context.Context, crmID, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if m.locks[crmID].owner == owner {
		delete(m.locks, crmID)
	}
	return nil
}

// Load returns a copy of the state.
func (m *Memory) Load(_ context.Context, crmID string) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	st := m.states[crmID]
	cp := State{TenantID: st.TenantID, Deleted: st.Deleted, Users: map[string]string{}, Activated: map[string]bool{}, Steps: map[string]bool{}}
	for k, v := range st.Users {
		cp.Users[k] = v
	}
	for k, v := range st.Activated {
		cp.Activated[k] = v
	}
	for k, v := range st.Steps {
		cp.Steps[k] = v
	}
	return cp, nil
}

// Save stores the state if owner holds the lease.
func (m *Memory) Save(ctx context.Context, crmID, owner string, st State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if m.locks[crmID].owner != owner {
		return ErrLockLost
	}
	m.states[crmID] = st
	return nil
}
