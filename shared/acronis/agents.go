package acronis

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// AgentsPath is the Agent Manager v2 list endpoint.
const AgentsPath = "/api/agent_manager/v2/agents"

// Agent is one registered agent of GET /api/agent_manager/v2/agents.
type Agent struct {
	ID         string
	Hostname   string
	Name       string
	TenantID   string // tenant.id (the document's example is legacy numeric: "64")
	TenantName string
	Online     bool
	Enabled    bool
	Platform   string // platform.family
	// RegisteredAt is registration_date ("RFC 1123 format with numeric time
	// zone"); nil when it cannot be read.
	RegisteredAt *time.Time
	// LastSeen is when the agent was last heard from. The Agent Manager v2
	// document defines no such field; it is read from the free-form meta
	// object (last_seen, last_seen_at or lastSeen) when present, and is nil
	// otherwise: callers report a missing last-seen time, they do not drop
	// the agent.
	LastSeen *time.Time
}

// AgentQuery selects agents. SubtreeRoot is the tenant_id parameter,
// "Identifier of a tenant subtree root": one walk covers every tenant under
// it, so a whole MSP is one paged walk rather than one call per tenant.
type AgentQuery struct {
	SubtreeRoot string
	Online      *bool // online=true|false when set
	Limit       int   // page size; 0 = DefaultAgentLimit
}

// DefaultAgentLimit is the page size when AgentQuery.Limit is 0. Without a
// limit the service answers every agent at once ("If this parameter is not
// provided or set to zero, there is no limit").
const DefaultAgentLimit = 500

// Agents walks every agent under q.SubtreeRoot. Next pages send only after
// and limit: the document says after "is mutually exclusive with all other
// but limit query parameters".
func (c *Client) Agents(ctx context.Context, q AgentQuery) iter.Seq2[[]Agent, error] {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultAgentLimit
	}
	v := url.Values{"limit": {strconv.Itoa(limit)}}
	if q.SubtreeRoot != "" {
		if err := checkTenantIDs([]string{q.SubtreeRoot}); err != nil {
			return func(yield func([]Agent, error) bool) { yield(nil, fmt.Errorf("acronis: agents: %w", err)) }
		}
		v.Set("tenant_id", q.SubtreeRoot)
	}
	if q.Online != nil {
		v.Set("online", strconv.FormatBool(*q.Online))
	}
	return cursorList[Agent]{AgentsPath, v, false, DecodeAgents}.walk(ctx, c)
}

// agentView is the part of the document's Agent the audit reads; required
// fields are pointers so their absence is seen.
type agentView struct {
	ID       *string `json:"id"`
	Hostname *string `json:"hostname"`
	Name     *string `json:"name"`
	Online   *bool   `json:"online"`
	Enabled  *bool   `json:"enabled"`
	Tenant   *struct {
		ID   *string `json:"id"`
		Name *string `json:"name"`
	} `json:"tenant"`
	Platform *struct {
		Family string `json:"family"`
	} `json:"platform"`
	RegistrationDate *string        `json:"registration_date"`
	Meta             map[string]any `json:"meta"`
}

// DecodeAgents decodes one answer of GET /agents: {"items":[Agent],
// "paging":{"cursors":{"after","before"}}} (both required by the document).
func DecodeAgents(b []byte) ([]Agent, string, error) {
	page, err := decodeManagerPage[agentView](b, "agents")
	if err != nil {
		return nil, "", err
	}
	after, ok := page.pagingCursor()
	if !ok {
		return nil, "", errors.New("agents: paging.cursors: missing")
	}
	out, err := convertItems(*page.Items, "agents", agentView.agent)
	if err != nil {
		return nil, "", err
	}
	return out, after, nil
}

func (v agentView) agent() (Agent, error) {
	switch {
	case v.ID == nil || *v.ID == "":
		return Agent{}, errors.New("id: missing")
	case v.Hostname == nil:
		return Agent{}, errors.New("hostname: missing")
	case v.Name == nil:
		return Agent{}, errors.New("name: missing")
	case v.Online == nil:
		return Agent{}, errors.New("online: missing")
	case v.Enabled == nil:
		return Agent{}, errors.New("enabled: missing")
	case v.Tenant == nil || v.Tenant.ID == nil || v.Tenant.Name == nil:
		return Agent{}, errors.New("tenant: id and name are required")
	}
	a := Agent{ID: *v.ID, Hostname: *v.Hostname, Name: *v.Name, Online: *v.Online, Enabled: *v.Enabled,
		TenantID: *v.Tenant.ID, TenantName: *v.Tenant.Name}
	if v.Platform != nil {
		a.Platform = v.Platform.Family
	}
	if v.RegistrationDate != nil {
		if t, err := time.Parse(time.RFC1123Z, *v.RegistrationDate); err == nil {
			t = t.UTC()
			a.RegisteredAt = &t
		}
	}
	ls, err := metaLastSeen(v.Meta)
	if err != nil {
		return Agent{}, err
	}
	a.LastSeen = ls
	return a, nil
}

// metaLastSeen reads a last-seen time from meta when one is there. A key
// that is present but unreadable is an error: a wrong "offline since" is
// worse than none.
func metaLastSeen(meta map[string]any) (*time.Time, error) {
	for _, k := range []string{"last_seen", "last_seen_at", "lastSeen"} {
		raw, ok := meta[k]
		if !ok || raw == nil {
			continue
		}
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("meta.%s: not a string", k)
		}
		t, err := ParseStamp(s)
		if err != nil {
			return nil, fmt.Errorf("meta.%s: %w", k, err)
		}
		return &t, nil
	}
	return nil, nil
}
