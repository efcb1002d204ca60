package provisioning

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Memory is an in-process Store for the local demo (DynamoDB in Lambda).
type Memory struct {
	Now func() time.Time

	mu     sync.Mutex
	events map[string]memEvent
	locks  map[string]lease
	states map[string][]byte
}

type memEvent struct {
	status EventStatus
	until  time.Time
}

type lease struct {
	owner string
	until time.Time
}

var _ Store = (*Memory)(nil)

func (m *Memory) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Memory) init() {
	if m.events == nil {
		m.events, m.locks, m.states = map[string]memEvent{}, map[string]lease{}, map[string][]byte{}
	}
}

// RecordEvent records an event id once.
func (m *Memory) RecordEvent(_ context.Context, id string, ttl time.Duration) (EventStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if e, ok := m.events[id]; ok && m.now().Before(e.until) {
		return e.status, nil
	}
	m.events[id] = memEvent{EventReceived, m.now().Add(ttl)}
	return EventNew, nil
}

// MarkQueued notes that the event was queued.
func (m *Memory) MarkQueued(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	e := m.events[id]
	e.status = EventQueued
	m.events[id] = e
	return nil
}

// Lock takes a free or expired lease.
func (m *Memory) Lock(_ context.Context, crmID, owner string, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if l, ok := m.locks[crmID]; ok && l.owner != owner && m.now().Before(l.until) {
		return false, nil
	}
	m.locks[crmID] = lease{owner, until}
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
	var st State
	if b := m.states[crmID]; b != nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return State{}, err
		}
	}
	st.init()
	return st, nil
}

// Save stores the state if owner holds an unexpired lease.
func (m *Memory) Save(_ context.Context, crmID, owner string, st State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if l := m.locks[crmID]; l.owner != owner || !m.now().Before(l.until) {
		return ErrLockLost
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	m.states[crmID] = b
	return nil
}
