package acronistest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// tenant is the simulator's record; its JSON is the spec's `tenant` schema.
type tenant struct {
	ID          string         `json:"id"`
	Version     int64          `json:"version"`
	CreatedAt   string         `json:"created_at"`
	UpdatedAt   string         `json:"updated_at"`
	DeletedAt   *string        `json:"deleted_at"`
	Name        string         `json:"name"`
	CustomerTyp string         `json:"customer_type"`
	ParentID    string         `json:"parent_id"`
	Kind        string         `json:"kind"`
	Contact     map[string]any `json:"contact"`
	Contacts    []any          `json:"contacts"`
	Offering    []any          `json:"offering_items"`
	BrandUUID   string         `json:"brand_uuid"`
	Barrier     int            `json:"barrier"`
	DefaultIDP  string         `json:"default_idp_id"`
	Enabled     bool           `json:"enabled"`
	CustomerID  *string        `json:"customer_id"`
	BrandID     *int           `json:"brand_id"`
	BrandOn     bool           `json:"brand_enabled"`
	InternalTag *string        `json:"internal_tag"`
	Language    string         `json:"language"`
	HasChildren bool           `json:"has_children"`
	UpdateLock  map[string]any `json:"update_lock"`
	Ancestral   bool           `json:"ancestral_access"`
	MFAStatus   string         `json:"mfa_status"`
	PricingMode string         `json:"pricing_mode"`

	// Legacy numeric id: usage items and policy contexts carry it.
	LegacyID int64 `json:"-"`
}

// TenantSpec adds a tenant through the back door (test setup).
type TenantSpec struct {
	Name, Kind, ParentID string
	CustomerID           string
	InternalTag          string
	Enabled              *bool
}

// AddTenant creates a tenant directly and returns its id.
func (s *Server) AddTenant(sp TenantSpec) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sp.ParentID == "" {
		sp.ParentID = s.rootID
	}
	t := s.newTenantLocked(sp.Name, sp.Kind, sp.ParentID, sp.CustomerID)
	if sp.Enabled != nil {
		t.Enabled = *sp.Enabled
	}
	if sp.InternalTag != "" {
		t.InternalTag = &sp.InternalTag
	}
	return t.ID
}

// Tenant returns a copy of a tenant's record as JSON-ready map (tests).
func (s *Server) Tenant(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[id]
	if t == nil {
		return nil, false
	}
	b, _ := json.Marshal(t)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m, true
}

// TenantLegacyID is the numeric id the usage and policy APIs show for a tenant.
func (s *Server) TenantLegacyID(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenants[id]; t != nil {
		return t.LegacyID
	}
	return 0
}

// GenerateTree adds partners under the root, customers under each partner and
// units under each customer: partners*(1+customers*(1+units)) tenants. It
// returns every new id in creation order (parents first).
func (s *Server) GenerateTree(partners, customers, units int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for p := range partners {
		pt := s.newTenantLocked(fmt.Sprintf("Partner %03d", p), "partner", s.rootID, "")
		ids = append(ids, pt.ID)
		for c := range customers {
			ct := s.newTenantLocked(fmt.Sprintf("Customer %03d-%04d", p, c), "customer", pt.ID, fmt.Sprintf("CRM-%03d-%04d", p, c))
			ids = append(ids, ct.ID)
			for u := range units {
				ut := s.newTenantLocked(fmt.Sprintf("Unit %03d-%04d-%02d", p, c, u), "unit", ct.ID, "")
				ids = append(ids, ut.ID)
			}
		}
	}
	return ids
}

func (s *Server) newTenantLocked(name, kind, parent, customerID string) *tenant {
	now := stamp(s.cfg.Now())
	t := &tenant{
		ID: newUUID(s.rng), Version: 1, CreatedAt: now, UpdatedAt: now, Name: name, CustomerTyp: "default",
		ParentID: parent, Kind: kind, Contacts: []any{}, Offering: []any{}, Enabled: true,
		BrandUUID: newUUID(s.rng), DefaultIDP: newUUID(s.rng),
		Language: "en", UpdateLock: map[string]any{"enabled": false, "owner_id": nil}, Ancestral: true,
		MFAStatus: "disabled", PricingMode: "production", LegacyID: int64(len(s.tenants) + 1000),
	}
	t.Contact = map[string]any{"id": newUUID(s.rng), "created_at": now, "updated_at": now, "types": []any{}, "email": "", "firstname": "", "lastname": ""}
	if kind == "customer" {
		t.PricingMode = "trial" // customers start in trial
	}
	if customerID != "" {
		t.CustomerID = &customerID
	}
	s.tenants[t.ID] = t
	s.treeChangedLocked()
	if parent != "" {
		s.children[parent] = append(s.children[parent], t.ID)
		if p := s.tenants[parent]; p != nil {
			p.HasChildren = true
		}
	}
	return t
}

// inSubtreeLocked reports whether id is scope or below it (and not deleted).
func (s *Server) inSubtreeLocked(id, scope string) bool {
	for depth := 0; depth < 64; depth++ {
		t := s.tenants[id]
		if t == nil || t.DeletedAt != nil {
			return false
		}
		if id == scope {
			return true
		}
		id = t.ParentID
	}
	return false
}

// subtreeLocked lists scope and everything below it, parents before
// children. The walk is cached until the tree changes: without the cache
// every list page walked the whole tree while holding the lock, which made
// the simulator, not the client, the bottleneck at 10,000 tenants.
func (s *Server) subtreeLocked(root string) []string {
	if ids, ok := s.subtrees[root]; ok {
		return ids
	}
	if s.subtrees == nil {
		s.subtrees = map[string][]string{}
	}
	ids := s.walkLocked(root)
	s.subtrees[root] = ids
	return ids
}

// treeChangedLocked drops cached walks (a tenant was added or deleted).
func (s *Server) treeChangedLocked() { s.subtrees = nil }

func (s *Server) walkLocked(root string) []string {
	var out []string
	stack := []string{root}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t := s.tenants[id]; t == nil || t.DeletedAt != nil {
			continue
		}
		out = append(out, id)
		kids := s.children[id]
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	return out
}

// cursor is opaque to clients; it carries the filter, so later pages need
// only limit and after (as on the real platform).
type cursor struct {
	Filter string   `json:"f"`
	Value  []string `json:"v"`
	Offset int      `json:"o"`
	Lod    string   `json:"l,omitempty"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Offset < 0 {
		return cursor{}, fmt.Errorf("invalid cursor")
	}
	return c, nil
}

// ParseLimit reads a limit parameter: absent = def; not a positive integer = error.
func ParseLimit(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("limit must be an integer >= 1")
	}
	return n, nil
}

func (s *Server) routesTenants() {
	s.route("GET /api/2/tenants", s.handleListTenants)
	s.route("POST /api/2/tenants", s.handleCreateTenant)
	s.route("GET /api/2/tenants/{id}", s.handleGetTenant)
	s.route("PUT /api/2/tenants/{id}", s.handleUpdateTenant)
	s.route("DELETE /api/2/tenants/{id}", s.handleDeleteTenant)
	s.route("GET /api/2/tenants/{id}/children", s.handleChildren)
}

func (s *Server) handleListTenants(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	q := r.URL.Query()
	limit, err := ParseLimit(q.Get("limit"), 5000)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "BadRequest", err.Error(), "")
		return
	}
	var c cursor
	if after := q.Get("after"); after != "" {
		if c, err = decodeCursor(after); err != nil {
			WriteError(w, http.StatusBadRequest, "BadRequest", "invalid value of after", "")
			return
		}
	} else {
		c.Lod = q.Get("lod")
		set := 0
		for _, f := range []string{"uuids", "parent_id", "subtree_root_id"} {
			if v := q.Get(f); v != "" {
				c.Filter, c.Value = f, strings.Split(v, ",")
				set++
			}
		}
		if set != 1 {
			WriteError(w, http.StatusBadRequest, "BadRequest", "exactly one of uuids, parent_id, subtree_root_id is required", "")
			return
		}
		if c.Filter == "uuids" && len(c.Value) > 100 {
			WriteError(w, http.StatusBadRequest, "BadRequest", "uuids: maximum of 100 UUIDs", "")
			return
		}
		if c.Filter != "uuids" && len(c.Value) != 1 {
			WriteError(w, http.StatusBadRequest, "BadRequest", c.Filter+": one UUID", "")
			return
		}
		for _, id := range c.Value {
			if !isUUID(id) {
				WriteError(w, http.StatusBadRequest, "BadRequest", c.Filter+": not a UUID: "+id, "")
				return
			}
		}
	}
	switch c.Lod {
	case "", "full", "basic", "stamps":
	default:
		WriteError(w, http.StatusBadRequest, "BadRequest", "lod must be stamps, basic or full", "")
		return
	}
	s.mu.Lock()
	var ids []string
	switch c.Filter {
	case "uuids":
		for _, id := range c.Value {
			if s.inSubtreeLocked(id, auth.tenantID) {
				ids = append(ids, id)
			}
		}
	case "parent_id":
		if s.inSubtreeLocked(c.Value[0], auth.tenantID) {
			for _, id := range s.children[c.Value[0]] {
				if s.tenants[id].DeletedAt == nil {
					ids = append(ids, id)
				}
			}
		}
	case "subtree_root_id":
		if s.inSubtreeLocked(c.Value[0], auth.tenantID) {
			ids = s.subtreeLocked(c.Value[0])
		}
	}
	n := min(limit, s.cfg.PageCap)
	end := min(c.Offset+n, len(ids))
	items := make([]any, 0, max(end-c.Offset, 0))
	for _, id := range ids[min(c.Offset, len(ids)):end] {
		items = append(items, lod(s.tenants[id], c.Lod))
	}
	s.mu.Unlock()
	resp := map[string]any{"timestamp": stamp(s.cfg.Now()), "items": items}
	if end < len(ids) {
		next := c
		next.Offset = end
		resp["paging"] = map[string]any{"cursors": map[string]any{"after": encodeCursor(next)}}
	} else {
		resp["paging"] = map[string]any{"cursors": map[string]any{}}
	}
	WriteJSON(w, http.StatusOK, resp)
}

func lod(t *tenant, level string) any {
	switch level {
	case "stamps", "basic":
		m := map[string]any{"id": t.ID, "parent_id": t.ParentID, "version": t.Version, "created_at": t.CreatedAt,
			"updated_at": t.UpdatedAt, "deleted_at": t.DeletedAt, "contacts": []any{}, "offering_items": []any{}}
		if level == "basic" {
			m["name"], m["kind"], m["enabled"] = t.Name, t.Kind, t.Enabled
		}
		return m
	}
	cp := *t
	return &cp
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request, auth tokenInfo) (*tenant, bool) {
	id := r.PathValue("id")
	if !isUUID(id) {
		WriteError(w, http.StatusBadRequest, "BadRequest", "tenant_id is not a UUID", "")
		return nil, false
	}
	t := s.tenants[id]
	if t == nil || t.DeletedAt != nil {
		WriteError(w, http.StatusNotFound, "NotFound", "Tenant not found", "")
		return nil, false
	}
	if !s.inSubtreeLocked(id, auth.tenantID) {
		WriteError(w, http.StatusForbidden, "Forbidden", "Access to the tenant is denied", "")
		return nil, false
	}
	return t, true
}

func (s *Server) handleGetTenant(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	s.mu.Lock()
	t, ok := s.lookup(w, r, auth)
	var cp tenant
	if ok {
		cp = *t
	}
	s.mu.Unlock()
	if ok {
		WriteJSON(w, http.StatusOK, &cp)
	}
}

func (s *Server) handleChildren(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	s.mu.Lock()
	t, ok := s.lookup(w, r, auth)
	var ids []string
	if ok {
		for _, id := range s.children[t.ID] {
			if s.tenants[id].DeletedAt == nil {
				ids = append(ids, id)
			}
		}
	}
	s.mu.Unlock()
	if ok {
		if ids == nil {
			ids = []string{}
		}
		WriteJSON(w, http.StatusOK, map[string]any{"items": ids})
	}
}

var allowedChild = map[string][]string{
	"root":     {"partner", "folder", "customer"},
	"partner":  {"partner", "folder", "customer"},
	"folder":   {"partner", "folder", "customer"},
	"customer": {"unit"},
	"unit":     {"unit"},
}

func (s *Server) nameTakenLocked(name, except string) bool {
	for _, t := range s.tenants {
		if t.ID != except && t.DeletedAt == nil && strings.EqualFold(t.Name, name) {
			return true
		}
	}
	return false
}

func (s *Server) handleCreateTenant(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	var body struct {
		Name        string         `json:"name"`
		ParentID    string         `json:"parent_id"`
		Kind        string         `json:"kind"`
		Contact     map[string]any `json:"contact"`
		Enabled     *bool          `json:"enabled"`
		CustomerID  *string        `json:"customer_id"`
		InternalTag *string        `json:"internal_tag"`
		Language    string         `json:"language"`
	}
	if !DecodeBody(w, r, &body) {
		return
	}
	switch {
	case strings.TrimSpace(body.Name) == "":
		WriteError(w, http.StatusBadRequest, "BadRequest", "name is required", "")
		return
	case !isUUID(body.ParentID):
		WriteError(w, http.StatusBadRequest, "BadRequest", "parent_id is required and must be a UUID", "")
		return
	case body.InternalTag != nil && len(*body.InternalTag) > 256:
		WriteError(w, http.StatusBadRequest, "BadRequest", "internal_tag is longer than 256 characters", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := s.tenants[body.ParentID]
	if parent == nil || !s.inSubtreeLocked(body.ParentID, auth.tenantID) {
		WriteError(w, http.StatusForbidden, "Forbidden", "Access to the parent tenant is denied", "")
		return
	}
	ok := false
	for _, k := range allowedChild[parent.Kind] {
		ok = ok || k == body.Kind
	}
	if !ok {
		WriteError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("a %q tenant cannot be created under a %q tenant", body.Kind, parent.Kind), "")
		return
	}
	if s.nameTakenLocked(body.Name, "") {
		WriteError(w, http.StatusConflict, "1004", "Tenant with the same name already exists", "")
		return
	}
	cid := ""
	if body.CustomerID != nil {
		cid = *body.CustomerID
	}
	if msg := checkContact(body.Contact); msg != "" {
		WriteError(w, http.StatusBadRequest, "BadRequest", msg, "")
		return
	}
	t := s.newTenantLocked(body.Name, body.Kind, body.ParentID, cid)
	mergeContact(t.Contact, body.Contact)
	if body.Enabled != nil {
		t.Enabled = *body.Enabled
	}
	t.InternalTag = body.InternalTag
	if body.Language != "" {
		t.Language = body.Language
	}
	cp := *t
	WriteJSON(w, http.StatusCreated, &cp)
}

func (s *Server) handleUpdateTenant(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	var body struct {
		Version     *int64         `json:"version"`
		Name        *string        `json:"name"`
		Enabled     *bool          `json:"enabled"`
		CustomerID  *string        `json:"customer_id"`
		InternalTag *string        `json:"internal_tag"`
		Language    *string        `json:"language"`
		Contact     map[string]any `json:"contact"`
		UpdateLock  map[string]any `json:"update_lock"`
	}
	if !DecodeBody(w, r, &body) {
		return
	}
	if body.Version == nil {
		WriteError(w, http.StatusBadRequest, "BadRequest", "version is required", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.lookup(w, r, auth)
	if !ok {
		return
	}
	if *body.Version != t.Version {
		WriteError(w, http.StatusConflict, "1001", "Version mismatch", fmt.Sprintf("current version is %d", t.Version))
		return
	}
	if locked, _ := t.UpdateLock["enabled"].(bool); locked && body.UpdateLock == nil {
		WriteError(w, http.StatusConflict, "1012", "Tenant is locked for updates", "")
		return
	}
	if body.Name != nil {
		if strings.TrimSpace(*body.Name) == "" {
			WriteError(w, http.StatusBadRequest, "BadRequest", "name must not be empty", "")
			return
		}
		if s.nameTakenLocked(*body.Name, t.ID) {
			WriteError(w, http.StatusConflict, "1004", "Tenant with the same name already exists", "")
			return
		}
		t.Name = *body.Name
	}
	if body.InternalTag != nil && len(*body.InternalTag) > 256 {
		WriteError(w, http.StatusBadRequest, "BadRequest", "internal_tag is longer than 256 characters", "")
		return
	}
	if msg := checkContact(body.Contact); msg != "" {
		WriteError(w, http.StatusBadRequest, "BadRequest", msg, "")
		return
	}
	if body.Enabled != nil {
		t.Enabled = *body.Enabled
	}
	if body.CustomerID != nil {
		t.CustomerID = body.CustomerID
	}
	if body.InternalTag != nil {
		t.InternalTag = body.InternalTag
	}
	if body.Language != nil {
		t.Language = *body.Language
	}
	if body.Contact != nil {
		mergeContact(t.Contact, body.Contact)
		t.Contact["updated_at"] = stamp(s.cfg.Now())
	}
	if body.UpdateLock != nil {
		t.UpdateLock = map[string]any{"enabled": body.UpdateLock["enabled"] == true, "owner_id": nil}
	}
	t.Version++
	t.UpdatedAt = stamp(s.cfg.Now())
	cp := *t
	WriteJSON(w, http.StatusOK, &cp)
}

func (s *Server) handleDeleteTenant(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	v := r.URL.Query().Get("version")
	version, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "BadRequest", "version is required and must be an integer", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.lookup(w, r, auth)
	if !ok {
		return
	}
	switch {
	case version != t.Version:
		WriteError(w, http.StatusConflict, "1001", "Version mismatch", fmt.Sprintf("current version is %d", t.Version))
	case t.Enabled:
		WriteError(w, http.StatusConflict, "1006", "Only a disabled tenant can be deleted", "")
	case t.ID == auth.tenantID:
		WriteError(w, http.StatusForbidden, "Forbidden", "cannot delete your own tenant", "")
	default:
		now := stamp(s.cfg.Now())
		t.DeletedAt = &now
		t.Version++
		s.treeChangedLocked()
		w.WriteHeader(http.StatusNoContent)
	}
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// contactPut's properties (additionalProperties: false in the spec).
var contactFields = map[string]bool{
	"tenant_id": true, "user_id": true, "types": true, "email": true, "address1": true, "address2": true,
	"country": true, "state": true, "city": true, "zipcode": true, "phone": true, "firstname": true,
	"lastname": true, "title": true, "website": true, "industry": true, "organization_size": true,
	"email_confirmed": true, "aan": true, "language": true, "fax": true,
}

var contactTypes = map[string]bool{"legal": true, "primary": true, "billing": true, "technical": true, "management": true}

// checkContact validates a contactPut object; "" means fine.
func checkContact(c map[string]any) string {
	for k, v := range c {
		if !contactFields[k] {
			return "contact: unknown field " + k
		}
		switch k {
		case "email":
			e, ok := v.(string)
			if !ok || e != "" && !strings.Contains(e, "@") {
				return "contact.email: not an e-mail address"
			}
		case "types":
			a, ok := v.([]any)
			if !ok || len(a) == 0 {
				return "contact.types: a non-empty list"
			}
			for _, ty := range a {
				if s, _ := ty.(string); !contactTypes[s] {
					return fmt.Sprintf("contact.types: unknown type %v", ty)
				}
			}
		case "email_confirmed":
			if _, ok := v.(bool); !ok {
				return "contact.email_confirmed: a boolean"
			}
		default:
			if _, ok := v.(string); !ok && v != nil {
				return "contact." + k + ": a string"
			}
		}
	}
	return ""
}

func mergeContact(dst, src map[string]any) {
	for k, v := range src {
		if k != "tenant_id" && k != "user_id" && k != "language" && k != "fax" {
			dst[k] = v
		}
	}
}
