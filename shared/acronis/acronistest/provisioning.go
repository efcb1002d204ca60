package acronistest

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Storage locations: the seed names ba2976d0-... "Google DR storage".
const (
	locPrimary = "d46a4b2a-2631-4f76-84cd-07ce3aed3dde"
	locDR      = "ba2976d0-c13e-4661-ae60-b4593583fce2"
	cpApp      = "6e6d758d-8e74-3ae3-ac84-50eb0dff12eb"
)

func catalogItem(name, usage, typ, unit, edition, infra string) map[string]any {
	it := map[string]any{"name": name, "usage_name": usage, "type": typ, "measurement_unit": unit, "edition": edition, "application_id": cpApp}
	if edition == "" {
		it["edition"] = nil // "Offering items without an edition are not filtered out in any case."
	}
	if infra != "" {
		it["infra_id"] = infra
	}
	return it
}

// Offering items the simulator's root offers to its children, per edition.
// Two storage (infra) locations, each with a DR item tied to it: a customer
// may have one location only, and no item of the other.
var offeringCatalog = map[string][]map[string]any{
	"pck_per_gigabyte": {
		catalogItem("pg_base_storage", "storage", "infra", "bytes", "pck_per_gigabyte", locPrimary),
		catalogItem("pg_base_storage_dr", "storage", "infra", "bytes", "pck_per_gigabyte", locDR),
		catalogItem("pg_dr_cloud_servers", "dr_cloud_servers", "feature", "n/a", "pck_per_gigabyte", locPrimary),
		catalogItem("pg_dr_cloud_servers_dr", "dr_cloud_servers", "feature", "n/a", "pck_per_gigabyte", locDR),
		catalogItem("pg_base_workstations", "workstations", "count", "quantity", "pck_per_gigabyte", ""),
		catalogItem("pg_base_servers", "servers", "count", "quantity", "pck_per_gigabyte", ""),
	},
	"pck_per_workload": {
		catalogItem("pw_base_storage", "storage", "infra", "bytes", "pck_per_workload", locPrimary),
		catalogItem("pw_base_workstations", "workstations", "count", "quantity", "pck_per_workload", ""),
	},
	"standard": { // the legacy edition the edition parameter defaults to
		catalogItem("workstations", "workstations", "count", "quantity", "standard", ""),
	},
	"": {catalogItem("local_storage", "local_storage", "feature", "n/a", "", "")},
}

// catalogEntry finds an item of the catalog by name.
func catalogEntry(name string) map[string]any {
	for _, list := range offeringCatalog {
		for _, it := range list {
			if it["name"] == name {
				return it
			}
		}
	}
	return nil
}

// inEdition applies the edition filter as documented: "If \"*\" is
// provided, all editions will be returned. Offering items without an edition
// are not filtered out in any case", default "standard".
func inEdition(it map[string]any, edition string) bool {
	if edition == "" {
		edition = "standard"
	}
	return edition == "*" || it["edition"] == nil || it["edition"] == edition
}

type simUser struct {
	ID, TenantID, Login       string
	ContactID, PersonalTenant string
	Version                   int64
	Contact                   map[string]any
	Activations               int
	Policies                  []map[string]any
	Created                   time.Time
}

type psaCustomer struct {
	ID, Name, ExternalTenantUUID string
	Clients                      []map[string]any
}

// provState is the provisioning-related state of the simulator.
type provState struct {
	offering map[string][]map[string]any // tenant -> enabled items
	pricing  map[string]map[string]any   // tenant -> pricing
	users    map[string]*simUser         // by id
	order    []string                    // user ids in creation order (stable pages)
	logins   map[string]string           // ASCII-folded login -> user id
	psa      []*psaCustomer
}

func (s *Server) prov() *provState {
	if s.provSt == nil {
		s.provSt = &provState{offering: map[string][]map[string]any{}, pricing: map[string]map[string]any{},
			users: map[string]*simUser{}, logins: map[string]string{}}
	}
	return s.provSt
}

func (s *Server) userByLoginLocked(login string) *simUser {
	p := s.prov()
	return p.users[p.logins[loginKey(login)]]
}

// ActivationEmails is how many activation e-mails went to a login (tests).
func (s *Server) ActivationEmails(login string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByLoginLocked(login); u != nil {
		return u.Activations
	}
	return 0
}

// UsersOf lists the logins of a tenant's users (tests).
func (s *Server) UsersOf(tenantID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, u := range s.prov().users {
		if u.TenantID == tenantID {
			out = append(out, u.Login)
		}
	}
	slices.Sort(out)
	return out
}

// UserRoles lists a login's access policies as "role@tenant" (tests).
func (s *Server) UserRoles(login string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if u := s.userByLoginLocked(login); u != nil {
		for _, p := range u.Policies {
			out = append(out, fmt.Sprint(p["role_id"]))
		}
	}
	return out
}

// UserPolicies returns a copy of a login's access policies (tests).
func (s *Server) UserPolicies(login string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	if u := s.userByLoginLocked(login); u != nil {
		for _, p := range u.Policies {
			out = append(out, clone(p))
		}
	}
	return out
}

// TakeLogin registers a login in the root tenant (a taken login).
func (s *Server) TakeLogin(login string) {
	s.AddUser(s.RootTenantID(), login, "")
}

// AddUser adds a user to a tenant through the back door, with one access
// policy of role in that tenant when role is not empty; it returns the id.
func (s *Server) AddUser(tenantID, login, role string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.addUserLocked(tenantID, login, map[string]any{"email": loginKey(login) + "@example.com"})
	if role != "" {
		now := stamp(s.cfg.Now())
		u.Policies = []map[string]any{{"id": newUUID(s.rng), "version": 3, "created_at": now, "updated_at": now, "deleted_at": nil,
			"trustee_id": u.ID, "trustee_type": "user", "issuer_id": s.rootID, "tenant_id": tenantID, "role_id": role}}
	}
	return u.ID
}

// TenantOfferingItems lists the offering item names enabled for a tenant (tests).
func (s *Server) TenantOfferingItems(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, it := range s.prov().offering[id] {
		out = append(out, fmt.Sprint(it["name"]))
	}
	return out
}

// OfferingQuota returns a copy of the quota of a tenant's item (nil: none).
func (s *Server) OfferingQuota(tenantID, name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.prov().offering[tenantID] {
		if q, ok := it["quota"].(map[string]any); ok && it["name"] == name {
			return clone(q)
		}
	}
	return nil
}

// AddPSACustomer adds an Advanced Automation customer linked to a tenant,
// with clients given as the seed shows them; it returns the PSA id.
func (s *Server) AddPSACustomer(name, tenantID string, clients []map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &psaCustomer{ID: newUUID(s.rng), Name: name, ExternalTenantUUID: tenantID}
	for _, cl := range clients {
		cl = clone(cl)
		cl["Id"], cl["Customer"] = newUUID(s.rng), c.ID
		c.Clients = append(c.Clients, cl)
	}
	s.prov().psa = append(s.prov().psa, c)
	return c.ID
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) routesProvisioning() {
	s.route("GET /api/2/tenants/{id}/offering_items/available_for_child", s.handleAvailableForChild)
	s.route("GET /api/2/tenants/{id}/offering_items", s.handleGetOfferingItems)
	s.route("PUT /api/2/tenants/{id}/offering_items", s.handlePutOfferingItems)
	s.route("GET /api/2/tenants/{id}/pricing", s.handleGetPricing)
	s.route("PUT /api/2/tenants/{id}/pricing", s.handlePutPricing)
	s.route("GET /api/2/tenants/{id}/edition", s.handleEditionCheck)
	s.route("PUT /api/2/tenants/{id}/edition", s.handleEditionSwitch)
	s.route("GET /api/2/users/check_login", s.handleCheckLogin)
	s.route("GET /api/2/users", s.handleListUsers)
	s.route("GET /api/2/tenants/{id}/users", s.handleTenantUsers)
	s.route("GET /api/2/users/{id}/access_policies", s.handleGetAccessPolicies)
	s.route("POST /api/2/users", s.handleCreateUser)
	s.route("POST /api/2/users/{id}/send-activation-email", s.handleActivation)
	s.route("PUT /api/2/users/{id}/access_policies", s.handleAccessPolicies)
	s.route("POST /api/advanced-automation/v1/Customer", s.handlePSACustomers)
	s.route("POST /api/advanced-automation/v1/Person", s.handlePSAPersons)
}

func itemList(items []map[string]any, now time.Time) map[string]any {
	if items == nil {
		items = []map[string]any{}
	}
	return map[string]any{"timestamp": stamp(now), "items": items}
}

// stored is an item as the tenant has it, in the document's shape (items_3:
// additionalProperties false), built from the catalog, not from the caller.
func stored(name, tenantID string, status int, quota map[string]any, now time.Time) map[string]any {
	it := clone(catalogEntry(name))
	it["tenant_id"], it["status"], it["locked"], it["updated_at"], it["deleted_at"] = tenantID, status, false, stamp(now), nil
	if quota != nil {
		it["quota"] = quota
	}
	return it
}

func (s *Server) handleAvailableForChild(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	q := r.URL.Query()
	kind, edition := q.Get("kind"), q.Get("edition")
	if kind != "" && kind != "partner" && kind != "customer" && kind != "folder" && kind != "unit" {
		WriteError(w, http.StatusBadRequest, "BadRequest", "kind: unknown tenant kind "+kind, "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.lookup(w, r, auth)
	if !ok {
		return
	}
	var items []map[string]any
	for _, ed := range slices.Sorted(maps.Keys(offeringCatalog)) {
		for _, it := range offeringCatalog[ed] {
			if inEdition(it, edition) {
				items = append(items, stored(fmt.Sprint(it["name"]), t.ID, 1, nil, s.cfg.Now()))
			}
		}
	}
	WriteJSON(w, http.StatusOK, itemList(items, s.cfg.Now()))
}

// handleGetOfferingItems is FetchTenantOfferingItems; its edition parameter
// defaults to "standard": without it a pck_per_gigabyte tenant's items are
// not in the answer.
func (s *Server) handleGetOfferingItems(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	edition := r.URL.Query().Get("edition")
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.lookup(w, r, auth)
	if !ok {
		return
	}
	var items []map[string]any
	for _, it := range s.prov().offering[t.ID] {
		if inEdition(it, edition) {
			items = append(items, clone(it))
		}
	}
	WriteJSON(w, http.StatusOK, itemList(items, s.cfg.Now()))
}

// checkQuota validates a quota object against the document's schema:
// value and overage "integer, minimum 0" or null, version an integer that
// "Equals to 0 if value and overage are null. Otherwise, contains the
// version number" (the current one must be sent back). "" = fine.
func checkQuota(q any, current int64) (status int, code, msg string) {
	m, ok := q.(map[string]any)
	if !ok || len(m) != 3 || !hasKeys(m, "value", "overage", "version") {
		return http.StatusBadRequest, "BadRequest", "quota: an object with exactly value, overage and version"
	}
	for _, k := range []string{"value", "overage"} {
		if v := m[k]; v != nil {
			if f, ok := v.(float64); !ok || f < 0 || f != math.Trunc(f) {
				return http.StatusBadRequest, "BadRequest", "quota." + k + ": an integer >= 0 or null"
			}
		}
	}
	v, ok := m["version"].(float64)
	if !ok || v < 0 || v != math.Trunc(v) {
		return http.StatusBadRequest, "BadRequest", "quota.version: an integer >= 0"
	}
	if int64(v) != current {
		return http.StatusConflict, "1001", fmt.Sprintf("quota version mismatch: current is %d", current)
	}
	return 0, "", ""
}

func hasKeys(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

func quotaVersion(it map[string]any) int64 {
	q, _ := it["quota"].(map[string]any)
	v, _ := q["version"].(int64)
	return v
}

// checkLocations enforces the seed's "Only 1 location for a customer": one
// enabled storage (infra) item, and no enabled item tied to another
// location. "" = fine.
func checkLocations(items []map[string]any) string {
	loc, infra := "", 0
	for _, it := range items {
		if it["type"] == "infra" && it["status"] == 1 {
			infra++
			loc, _ = it["infra_id"].(string)
		}
	}
	if infra > 1 {
		return "A customer can use only one storage location"
	}
	for _, it := range items {
		if id, _ := it["infra_id"].(string); id != "" && it["status"] == 1 && id != loc {
			return fmt.Sprintf("offering item %v depends on storage location %s, which the customer does not use", it["name"], id)
		}
	}
	return ""
}

// putItems builds the tenant's new items from a SetTenantOfferingItems body.
func (s *Server) putItemsLocked(t *tenant, body []map[string]any) ([]map[string]any, int, string, string) {
	current := map[string]map[string]any{}
	for _, it := range s.prov().offering[t.ID] {
		current[fmt.Sprint(it["name"])] = it
	}
	items := make([]map[string]any, 0, len(body))
	for _, it := range body {
		name, _ := it["name"].(string)
		if catalogEntry(name) == nil {
			return nil, http.StatusConflict, "1021", "Offering item is not available: " + name
		}
		status := 1
		if st, ok := it["status"].(float64); ok && st == 0 {
			status = 0
		} else if ok && st != 1 {
			return nil, http.StatusBadRequest, "BadRequest", "status: 0 or 1"
		}
		quota, _ := current[name]["quota"].(map[string]any)
		if q, ok := it["quota"]; ok {
			if st, code, msg := checkQuota(q, quotaVersion(current[name])); st != 0 {
				return nil, st, code, msg
			}
			m := q.(map[string]any)
			quota = map[string]any{"value": intOrNil(m["value"]), "overage": intOrNil(m["overage"]), "version": quotaVersion(current[name]) + 1}
		}
		items = append(items, stored(name, t.ID, status, quota, s.cfg.Now()))
	}
	return items, 0, "", ""
}

func intOrNil(v any) any {
	if f, ok := v.(float64); ok {
		return int64(f)
	}
	return nil
}

func (s *Server) handlePutOfferingItems(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	var body struct {
		OfferingItems *[]map[string]any `json:"offering_items"`
		CheckUsage    bool              `json:"check_usage"`
	}
	if !DecodeBody(w, r, &body) {
		return
	}
	if body.OfferingItems == nil {
		WriteError(w, http.StatusBadRequest, "BadRequest", "offering_items is required", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.lookup(w, r, auth)
	if !ok {
		return
	}
	items, st, code, msg := s.putItemsLocked(t, *body.OfferingItems)
	if st != 0 {
		WriteError(w, st, code, msg, "")
		return
	}
	if msg := checkLocations(items); t.Kind == "customer" && msg != "" {
		WriteError(w, http.StatusConflict, "1023", msg, "")
		return
	}
	s.prov().offering[t.ID] = items
	WriteJSON(w, http.StatusOK, itemList(items, s.cfg.Now()))
}

func (s *Server) pricingLocked(t *tenant) map[string]any {
	p := s.prov().pricing[t.ID]
	if p == nil {
		mode := "production"
		if t.Kind == "customer" {
			mode = "trial"
		}
		p = map[string]any{"mode": mode, "currency": "EUR", "production_start_date": nil, "version": 1}
		s.prov().pricing[t.ID] = p
	}
	return p
}

func (s *Server) handleGetPricing(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.lookup(w, r, auth); ok {
		WriteJSON(w, http.StatusOK, s.pricingLocked(t))
	}
}

func (s *Server) handlePutPricing(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	var body struct {
		Mode                string  `json:"mode"`
		Currency            string  `json:"currency"`
		ProductionStartDate *string `json:"production_start_date"`
		Version             *int    `json:"version"`
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
	p := s.pricingLocked(t)
	switch {
	case *body.Version != p["version"].(int):
		WriteError(w, http.StatusConflict, "1001", "Version mismatch", "")
		return
	case body.Mode != "" && body.Mode != "trial" && body.Mode != "production":
		WriteError(w, http.StatusBadRequest, "BadRequest", "mode must be trial or production", "")
		return
	case p["mode"] == "production" && body.Mode == "trial":
		WriteError(w, http.StatusBadRequest, "BadRequest", "production mode cannot be switched back to trial", "")
		return
	}
	if body.Mode != "" {
		p["mode"] = body.Mode
		if body.Mode == "production" && p["production_start_date"] == nil {
			p["production_start_date"] = stamp(s.cfg.Now()) // the document's RFC 3339 date-time pattern
		}
	}
	if body.Currency != "" {
		p["currency"] = body.Currency
	}
	p["version"] = p["version"].(int) + 1
	t.PricingMode = p["mode"].(string)
	WriteJSON(w, http.StatusOK, p)
}

func editionParams(w http.ResponseWriter, app, target string) bool {
	if app == "" || target == "" {
		WriteError(w, http.StatusBadRequest, "BadRequest", "application_id and target_edition are required", "")
		return false
	}
	if _, ok := offeringCatalog[target]; !ok {
		WriteError(w, http.StatusBadRequest, "BadRequest", "unknown target_edition "+target, "")
		return false
	}
	return true
}

func (s *Server) handleEditionCheck(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	q := r.URL.Query()
	if !editionParams(w, q.Get("application_id"), q.Get("target_edition")) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.lookup(w, r, auth)
	if !ok {
		return
	}
	warnings := []any{}
	for _, it := range s.prov().offering[t.ID] {
		if it["edition"] != nil && it["edition"] != q.Get("target_edition") {
			warnings = append(warnings, fmt.Sprintf("offering item %v will be replaced", it["name"]))
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"warnings": warnings})
}

func (s *Server) handleEditionSwitch(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	var body struct {
		ApplicationID string `json:"application_id"`
		TargetEdition string `json:"target_edition"`
	}
	if !DecodeBody(w, r, &body) || !editionParams(w, body.ApplicationID, body.TargetEdition) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.lookup(w, r, auth)
	if !ok {
		return
	}
	var items []map[string]any
	loc := ""
	for _, it := range append(slices.Clone(offeringCatalog[body.TargetEdition]), offeringCatalog[""]...) {
		id, _ := it["infra_id"].(string)
		if t.Kind == "customer" && id != "" && loc != "" && id != loc {
			continue // one storage location for a customer
		}
		if it["type"] == "infra" {
			loc = id
		}
		items = append(items, stored(fmt.Sprint(it["name"]), t.ID, 1, nil, s.cfg.Now()))
	}
	s.prov().offering[t.ID] = items
	WriteJSON(w, http.StatusOK, itemList(items, s.cfg.Now()))
}

// loginKey folds a login the way the platform compares logins: ASCII
// letters only. strings.ToLower would fold the Kelvin sign (U+212A) to "k"
// and make "\u212Aate" collide with "kate"; such logins are invalid anyway.
func loginKey(l string) string {
	b := []byte(l)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (s *Server) handleCheckLogin(w http.ResponseWriter, r *http.Request, _ tokenInfo) {
	login := r.URL.Query().Get("username")
	if login == "" {
		WriteError(w, http.StatusBadRequest, "BadRequest", "username is required", "")
		return
	}
	if !validLogin(login) {
		WriteError(w, http.StatusNotAcceptable, "1033", "Invalid login", "")
		return
	}
	s.mu.Lock()
	_, taken := s.prov().logins[loginKey(login)]
	s.mu.Unlock()
	if taken {
		WriteError(w, http.StatusConflict, "Conflict", "Login is already taken", "")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func validLogin(l string) bool {
	if len(l) < 1 || len(l) > 255 {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@+", r)) {
			return false
		}
	}
	return true
}

// userJSON is the spec's full user (lod=full, the default).
func (s *Server) userJSON(u *simUser) map[string]any {
	contact := map[string]any{"id": u.ContactID, "created_at": stamp(u.Created), "updated_at": stamp(u.Created), "types": []any{}}
	for k, v := range u.Contact {
		contact[k] = v
	}
	return map[string]any{"id": u.ID, "version": u.Version, "tenant_id": u.TenantID, "login": u.Login, "contact": contact,
		"activated": u.Activations > 0, "enabled": true, "created_at": stamp(u.Created), "updated_at": stamp(u.Created),
		"deleted_at": nil, "language": "en", "business_types": []any{}, "notifications": []any{},
		"access_policies": []any{}, "origin_id": nil, "origin_external_id": nil, "disable_after": nil,
		"personal_tenant_id": u.PersonalTenant}
}

// usersQuery reads FetchUsersBatch's filters as the document states them:
// "uuids ... Maximum of 100 UUIDs. Is mutually exclusive with
// subtree_root_tenant_id, external_ids and tenant_id"; "external_ids ... Is
// mutually exclusive with subtree_root_tenant_id and uuids";
// "subtree_root_tenant_id ... Is mutually exclusive with uuids and tenant_id";
// tenant_id: "Required when searching the users by external_id. Not used
// otherwise." It returns the filter name and values ("" = none).
func usersQuery(q url.Values) (filter string, values []string, msg string) {
	n := 0
	for _, f := range []string{"uuids", "subtree_root_tenant_id", "external_ids"} {
		if q.Has(f) {
			filter, values = f, strings.Split(q.Get(f), ",")
			n++
		}
	}
	switch {
	case n > 1:
		return "", nil, "uuids, subtree_root_tenant_id and external_ids are mutually exclusive"
	case q.Has("tenant_id") && (filter == "uuids" || filter == "subtree_root_tenant_id"):
		return "", nil, "tenant_id is mutually exclusive with " + filter
	case filter == "external_ids" && !q.Has("tenant_id"):
		return "", nil, "tenant_id is required when searching the users by external_id"
	case q.Has("tenant_id") && !isUUID(q.Get("tenant_id")):
		return "", nil, "tenant_id must be a UUID"
	case len(values) > 100 && filter != "subtree_root_tenant_id":
		return "", nil, filter + ": maximum of 100 UUIDs"
	}
	if filter == "uuids" || filter == "subtree_root_tenant_id" {
		for _, id := range values {
			if !isUUID(id) {
				return "", nil, filter + ": not a UUID: " + id
			}
		}
	}
	return filter, values, ""
}

// usersMatchingLocked lists the users a filter selects among those the
// caller may see. With no filter (tenant_id alone is "not used") that is
// every user in the caller's subtree: on the platform ?tenant_id=X does not
// narrow the list to X's users.
func (s *Server) usersMatchingLocked(filter string, values []string, scope string) []*simUser {
	p := s.prov()
	var out []*simUser
	for _, id := range p.order {
		u := p.users[id]
		if !s.inSubtreeLocked(u.TenantID, scope) {
			continue
		}
		switch filter {
		case "uuids":
			if !slices.Contains(values, u.ID) {
				continue
			}
		case "subtree_root_tenant_id":
			if !s.inSubtreeLocked(u.TenantID, values[0]) {
				continue
			}
		case "external_ids":
			continue // no simulated user comes from an external identity provider
		}
		out = append(out, u)
	}
	return out
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	q := r.URL.Query()
	limit, err := ParseLimit(q.Get("limit"), 2000)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "BadRequest", err.Error(), "")
		return
	}
	var c cursor
	if after := q.Get("after"); after != "" {
		// "The cursor encodes all the filtering and sorting arguments."
		if c, err = decodeCursor(after); err != nil {
			WriteError(w, http.StatusBadRequest, "BadRequest", "invalid value of after", "")
			return
		}
	} else {
		var msg string
		if c.Filter, c.Value, msg = usersQuery(q); msg != "" {
			WriteError(w, http.StatusBadRequest, "BadRequest", msg, "")
			return
		}
	}
	s.mu.Lock()
	all := s.usersMatchingLocked(c.Filter, c.Value, auth.tenantID)
	end := min(c.Offset+min(limit, s.cfg.PageCap), len(all))
	items := make([]any, 0, max(end-c.Offset, 0))
	for _, u := range all[min(c.Offset, len(all)):end] {
		items = append(items, s.userJSON(u))
	}
	s.mu.Unlock()
	cursors := map[string]any{}
	if end < len(all) {
		next := c
		next.Offset = end
		cursors["after"] = encodeCursor(next)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"timestamp": stamp(s.cfg.Now()), "items": items, "paging": map[string]any{"cursors": cursors}})
}

// handleTenantUsers is FetchTenantUsers: "a list of UUIDs of the tenant's
// users" (include_grand_children adds the users of nested units).
func (s *Server) handleTenantUsers(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	deep := r.URL.Query().Get("include_grand_children") == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.lookup(w, r, auth)
	if !ok {
		return
	}
	p := s.prov()
	ids := []string{}
	for _, id := range p.order {
		if u := p.users[id]; u.TenantID == t.ID || deep && s.inSubtreeLocked(u.TenantID, t.ID) {
			ids = append(ids, id)
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": ids})
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	var body struct {
		TenantID string         `json:"tenant_id"`
		Login    string         `json:"login"`
		Contact  map[string]any `json:"contact"`
		Language string         `json:"language"`
	}
	if !DecodeBody(w, r, &body) {
		return
	}
	switch {
	case !isUUID(body.TenantID):
		WriteError(w, http.StatusBadRequest, "BadRequest", "tenant_id is required and must be a UUID", "")
		return
	case !validLogin(body.Login):
		WriteError(w, http.StatusBadRequest, "1033", "Invalid login", "")
		return
	}
	if email, _ := body.Contact["email"].(string); !strings.Contains(email, "@") {
		WriteError(w, http.StatusBadRequest, "BadRequest", "contact.email is required", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.inSubtreeLocked(body.TenantID, auth.tenantID) {
		WriteError(w, http.StatusForbidden, "Forbidden", "Access to the tenant is denied", "")
		return
	}
	if _, taken := s.prov().logins[loginKey(body.Login)]; taken {
		// Logins are unique platform-wide, compared ASCII case-insensitively.
		WriteError(w, http.StatusConflict, "Conflict", "Login is already taken", "")
		return
	}
	u := s.addUserLocked(body.TenantID, body.Login, body.Contact)
	out := s.userJSON(u)
	// The `user` schema (CreateUser's answer) has these as optional,
	// non-nullable strings; the batch's full user has them nullable.
	delete(out, "origin_id")
	delete(out, "origin_external_id")
	delete(out, "disable_after")
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) addUserLocked(tenantID, login string, contact map[string]any) *simUser {
	p := s.prov()
	u := &simUser{ID: newUUID(s.rng), TenantID: tenantID, Login: login, Version: 1, Contact: contact, Created: s.cfg.Now(),
		ContactID: newUUID(s.rng), PersonalTenant: newUUID(s.rng)}
	p.users[u.ID], p.logins[loginKey(login)] = u, u.ID
	p.order = append(p.order, u.ID)
	return u
}

func (s *Server) lookupUser(w http.ResponseWriter, r *http.Request, auth tokenInfo) (*simUser, bool) {
	u := s.prov().users[r.PathValue("id")]
	if u == nil {
		WriteError(w, http.StatusNotFound, "NotFound", "User not found", "")
		return nil, false
	}
	if !s.inSubtreeLocked(u.TenantID, auth.tenantID) {
		WriteError(w, http.StatusForbidden, "Forbidden", "Access to the user is denied", "")
		return nil, false
	}
	return u, true
}

func (s *Server) handleActivation(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.lookupUser(w, r, auth); ok {
		u.Activations++
		w.WriteHeader(http.StatusNoContent)
	}
}

// userRoles is the document's userRole enum. There is no backup_admin.
var userRoles = []string{"root_admin", "partner_admin", "company_admin", "unit_admin", "readonly_admin", "protection_admin",
	"protection_ro_admin", "restore_operator", "backup_user", "sync_share_admin", "sync_share_user", "sync_share_guest",
	"pds_operator", "pds_support", "notary_admin", "notary_user", "hci_admin", "omnivoice_admin", "omnivoice_user",
	"greathorn_admin", "greathorn_user", "greathorn_analyst", "greathorn_client_manager"}

func (s *Server) handleGetAccessPolicies(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.lookupUser(w, r, auth); ok {
		WriteJSON(w, http.StatusOK, map[string]any{"timestamp": stamp(s.cfg.Now()), "items": orEmpty(u.Policies)})
	}
}

const zeroUUID = "00000000-0000-0000-0000-000000000000"

// checkPolicyLocked validates one item of an access policy PUT; "" = fine.
// An item naming an existing policy must carry its current version.
func (s *Server) checkPolicyLocked(u *simUser, it map[string]any, scope string) (status int, code, msg string) {
	role, _ := it["role_id"].(string)
	tenantID, _ := it["tenant_id"].(string)
	switch {
	case !slices.Contains(userRoles, role):
		return http.StatusBadRequest, "BadRequest", "role_id: " + role + " is not a userRole"
	case it["trustee_id"] != u.ID || it["trustee_type"] != "user":
		return http.StatusBadRequest, "BadRequest", "trustee_id must be the user and trustee_type user"
	case !isUUID(tenantID) || !s.inSubtreeLocked(tenantID, scope):
		return http.StatusForbidden, "Forbidden", "tenant_id outside the caller's scope"
	}
	if id, _ := it["id"].(string); id != zeroUUID {
		cur := findPolicy(u.Policies, id)
		if cur == nil {
			return http.StatusNotFound, "NotFound", "access policy " + id + " not found"
		}
		if fmt.Sprint(cur["version"]) != fmt.Sprint(it["version"]) {
			return http.StatusConflict, "1001", "Version mismatch"
		}
	}
	return 0, "", ""
}

func findPolicy(list []map[string]any, id string) map[string]any {
	for _, p := range list {
		if p["id"] == id {
			return p
		}
	}
	return nil
}

// handleAccessPolicies is UpdateUserAccessPolicies: it "rewrites user's
// access policies": every policy not in the body is gone afterwards.
func (s *Server) handleAccessPolicies(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	var body struct {
		Timestamp string           `json:"timestamp"`
		Items     []map[string]any `json:"items"`
		Paging    map[string]any   `json:"paging"`
	}
	if !DecodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.lookupUser(w, r, auth)
	if !ok {
		return
	}
	for _, it := range body.Items {
		if st, code, msg := s.checkPolicyLocked(u, it, auth.tenantID); st != 0 {
			WriteError(w, st, code, msg, "")
			return
		}
	}
	now := stamp(s.cfg.Now())
	items := make([]map[string]any, 0, len(body.Items))
	for _, it := range body.Items {
		if cur := findPolicy(u.Policies, fmt.Sprint(it["id"])); cur != nil {
			items = append(items, cur)
			continue
		}
		items = append(items, map[string]any{"id": newUUID(s.rng), "version": 1, "created_at": now, "updated_at": now, "deleted_at": nil,
			"trustee_id": u.ID, "trustee_type": "user", "issuer_id": auth.tenantID, "tenant_id": it["tenant_id"], "role_id": it["role_id"]})
	}
	u.Policies = items
	WriteJSON(w, http.StatusOK, map[string]any{"timestamp": now, "items": items})
}

// psaPage reads Page (1-based) and PageSize (1..100).
func psaPage(w http.ResponseWriter, r *http.Request) (page, size int, ok bool) {
	q := r.URL.Query()
	page, err1 := strconv.Atoi(q.Get("Page"))
	size, err2 := strconv.Atoi(q.Get("PageSize"))
	if err1 != nil || err2 != nil || page < 1 || size < 1 || size > 100 {
		WriteJSON(w, http.StatusBadRequest, map[string]any{"Message": "Page (from 1) and PageSize (1 to 100) are required"})
		return 0, 0, false
	}
	return page, size, true
}

func pageOf[T any](all []T, page, size int) []T {
	from := (page - 1) * size
	if from >= len(all) {
		return []T{}
	}
	return all[from:min(from+size, len(all))]
}

func (s *Server) handlePSACustomers(w http.ResponseWriter, r *http.Request, _ tokenInfo) {
	page, size, ok := psaPage(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	var all []map[string]any
	for _, c := range s.prov().psa {
		all = append(all, map[string]any{"Id": c.ID, "Name": c.Name, "ExternalTenantUUID": c.ExternalTenantUUID, "Active": true})
	}
	s.mu.Unlock()
	pages := (len(all) + size - 1) / size
	WriteJSON(w, http.StatusOK, map[string]any{"Customers": orEmpty(pageOf(all, page, size)), "AmountRecordsFound": len(all), "AmountOfPages": pages + 1})
}

func (s *Server) handlePSAPersons(w http.ResponseWriter, r *http.Request, _ tokenInfo) {
	page, size, ok := psaPage(w, r)
	if !ok {
		return
	}
	id := r.URL.Query().Get("Customer")
	s.mu.Lock()
	var cust *psaCustomer
	for _, c := range s.prov().psa {
		if c.ID == id {
			cust = c
		}
	}
	var clients []map[string]any
	if cust != nil {
		clients = cust.Clients
	}
	s.mu.Unlock()
	if cust == nil {
		WriteJSON(w, http.StatusNotFound, map[string]any{"Message": "Customer not found"})
		return
	}
	// AmountOfPages is unreliable on the real service: it is off by one here too.
	WriteJSON(w, http.StatusOK, map[string]any{"Clients": orEmpty(pageOf(clients, page, size)),
		"Paging": map[string]any{"AmountRecordsFound": len(clients), "AmountOfPages": (len(clients)+size-1)/size + 1}})
}

func orEmpty(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}
