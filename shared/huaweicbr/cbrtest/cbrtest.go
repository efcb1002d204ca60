// Package cbrtest is a strict simulator of the Huawei Cloud CBR endpoints
// the audit uses. It verifies AK/SK signatures (or an X-Auth-Token), serves
// the documented shapes with offset paging, answers errors in the
// {"error_code","error_msg"} envelope, and injects latency, 429 (APIG.0308),
// 5xx and dropped connections. Its types are its own, not the client's, so
// that it answers what Huawei documents and not what the client assumes.
//
// Field names it answers, per object, and their source. "Docs" is Huawei's
// CBR API reference page; "SDK" the official Go SDK
// (github.com/huaweicloud/huaweicloud-sdk-go-v3 v0.1.207,
// services/cbr/v1/model); /work/shared/API-NOTES.md records both.
//
//   - Policy (GET /v3/{project_id}/policies as {policies, count};
//     GET /v3/{project_id}/policies/{policy_id} as {policy}): id, name,
//     enabled, operation_type, operation_definition, trigger,
//     associated_vaults, policy_type. Docs "Querying a Single Policy"
//     (Table 4 Policy; seeds/huawei-cbr-show-policy.txt); SDK model.Policy,
//     model.ListPoliciesResponse (policies, count).
//   - Operation definition (operation_definition and
//     policy_operation_definition): day_backups, max_backups, month_backups,
//     retention_duration_days, timezone, week_backups, year_backups. Docs
//     Table 5 PolicyoODCreate; SDK model.PolicyoOdCreate.
//   - Trigger of a policy (trigger): id, name, type, properties{pattern,
//     start_time}. Docs Tables 6-7 PolicyTriggerResp,
//     PolicyTriggerPropertiesResp (the example answer carries pattern); SDK
//     model.PolicyTriggerResp, model.PolicyTriggerPropertiesResp.
//   - Associated vault: vault_id, destination_vault_id. Docs Table 8
//     PolicyAssociateVault; SDK model.PolicyAssociateVault.
//   - Organization policy (GET /v3/{project_id}/organization-policies as
//     {policies, count, limit, offset}; .../organization-policies/{id} as
//     {policy}): id, name, operation_type, domain_id, domain_name,
//     policy_name, policy_enabled, policy_operation_definition,
//     policy_trigger{properties{pattern}}, status, effective_scope. SDK
//     model.OrganizationPolicy, model.PolicyTriggerReq,
//     model.PolicyTriggerPropertiesReq, model.ListOrganizationPoliciesResponse,
//     model.ShowOrganizationPolicyResponse; API-NOTES.md "Huawei Cloud CBR".
//   - Delivery status (GET .../organization-policies/{id}/policy-detail as
//     {policies, count, limit, offset}): policy_id, domain_id, project_id,
//     status, error_msg. Docs "Querying Organizational Policy Delivery Info"
//     (Tables 3-4 and the example answer, which carries error_msg;
//     seeds/huawei-cbr-organization-policy-detail.txt); SDK
//     model.OrganizationPolicyStatus (which lacks error_msg).
//   - Error: error_code, error_msg. API-NOTES.md "Errors".
//
// Paging as API-NOTES.md has it: "Offset-paged lists answer count (the
// total), limit (what the server used: it may be lower than asked, up to
// 1000) and offset." Config.MaxLimit sets the server's own cap. The
// policy-detail path "has no documented limit/offset parameters": the
// simulator ignores them and answers the first Config.DetailPage members
// with offset 0, as the docs example does.
//
// What it rejects: an unknown path or method 404 APIG.0101 (the API
// gateway's "API does not exist"); a bad signature, stale X-Sdk-Date or
// unknown token 401 APIG.0301; another project 403 APIG.0302; an
// operation_type other than backup or replication, or limit outside 1..1000,
// or a negative offset, 400; an unknown policy 404. The BackupService codes
// for the last two are the simulator's stand-ins (our notes do not record
// CBR's exact ones); clients must not depend on them.
package cbrtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
)

// Policy is a policy as the API answers it.
type Policy struct {
	ID                  string              `json:"id"`
	Name                string              `json:"name"`
	Enabled             bool                `json:"enabled"`
	OperationType       string              `json:"operation_type"`
	OperationDefinition OperationDefinition `json:"operation_definition"`
	Trigger             Trigger             `json:"trigger"`
	AssociatedVaults    []AssociatedVault   `json:"associated_vaults"`
	PolicyType          string              `json:"policy_type,omitempty"`
}

// OperationDefinition is PolicyoODCreate: retention. Nil fields are absent.
type OperationDefinition struct {
	DayBackups            *int   `json:"day_backups,omitempty"`
	MaxBackups            *int   `json:"max_backups,omitempty"`
	MonthBackups          *int   `json:"month_backups,omitempty"`
	RetentionDurationDays *int   `json:"retention_duration_days,omitempty"`
	Timezone              string `json:"timezone,omitempty"`
	WeekBackups           *int   `json:"week_backups,omitempty"`
	YearBackups           *int   `json:"year_backups,omitempty"`
}

// Trigger is PolicyTriggerResp.
type Trigger struct {
	ID         string            `json:"id"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Properties TriggerProperties `json:"properties"`
}

// TriggerProperties is PolicyTriggerPropertiesResp.
type TriggerProperties struct {
	Pattern   []string `json:"pattern"`
	StartTime string   `json:"start_time,omitempty"`
}

// AssociatedVault is PolicyAssociateVault.
type AssociatedVault struct {
	VaultID            string `json:"vault_id"`
	DestinationVaultID string `json:"destination_vault_id,omitempty"`
}

// OrganizationPolicy is an organization policy as the API answers it.
type OrganizationPolicy struct {
	ID                        string              `json:"id"`
	Name                      string              `json:"name"`
	OperationType             string              `json:"operation_type"`
	DomainID                  string              `json:"domain_id"`
	DomainName                string              `json:"domain_name,omitempty"`
	PolicyName                string              `json:"policy_name"`
	PolicyEnabled             bool                `json:"policy_enabled"`
	PolicyOperationDefinition OperationDefinition `json:"policy_operation_definition"`
	PolicyTrigger             OrgTrigger          `json:"policy_trigger"`
	Status                    string              `json:"status"`
	EffectiveScope            string              `json:"effective_scope,omitempty"`
}

// OrgTrigger is PolicyTriggerReq: only properties{pattern}.
type OrgTrigger struct {
	Properties struct {
		Pattern []string `json:"pattern"`
	} `json:"properties"`
}

// MemberStatus is OrganizationPolicyStatus, with the docs example's error_msg.
type MemberStatus struct {
	PolicyID  string  `json:"policy_id"`
	DomainID  string  `json:"domain_id"`
	ProjectID string  `json:"project_id"`
	Status    string  `json:"status"`
	ErrorMsg  *string `json:"error_msg"`
}

// Faults are injected before a request is served. Rates are in [0,1].
type Faults struct {
	Latency    time.Duration
	Rate429    float64
	RetryAfter int // seconds, default 1
	Rate5xx    float64
	RateDrop   float64
}

// Config sets up a simulator.
type Config struct {
	ProjectID string // default a fixed id
	AccessKey string // default "AKTEST..."
	SecretKey string
	AuthToken string // accepted in X-Auth-Token when set
	Seed      int64
	Faults    Faults
	Now       func() time.Time
	// MaxLimit is the largest page the server uses on offset-paged lists,
	// whatever the limit asked (default 1000, the documented maximum).
	MaxLimit int
	// DetailPage is how many members policy-detail answers, from the first,
	// whatever limit/offset say (default 1000, as the docs example's limit).
	DetailPage int
}

// Request is one request-log entry.
type Request struct {
	Method, Path, Query string
	Status              int
}

// Server is the simulator.
type Server struct {
	cfg Config

	mu       sync.Mutex
	rng      *rand.Rand
	faults   Faults
	policies map[string]Policy
	orgs     map[string]OrganizationPolicy
	members  map[string][]MemberStatus
	logMu    sync.Mutex
	log      []Request
	hs       *httptest.Server
}

// New builds a simulator (not listening).
func New(cfg Config) *Server {
	if cfg.ProjectID == "" {
		cfg.ProjectID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	}
	if cfg.AccessKey == "" {
		cfg.AccessKey = "AKTESTCBRSIMULATOR01"
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = "sk-test-cbr-simulator-secret-key"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Faults.RetryAfter <= 0 {
		cfg.Faults.RetryAfter = 1
	}
	if cfg.MaxLimit <= 0 || cfg.MaxLimit > 1000 {
		cfg.MaxLimit = 1000
	}
	if cfg.DetailPage <= 0 {
		cfg.DetailPage = 1000
	}
	return &Server{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0xcb5)), faults: cfg.Faults,
		policies: map[string]Policy{}, orgs: map[string]OrganizationPolicy{}, members: map[string][]MemberStatus{}}
}

// NewServer starts a simulator for a test.
func NewServer(t testing.TB, cfg Config) *Server {
	s := New(cfg)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// Start listens on loopback.
func (s *Server) Start() { s.hs = httptest.NewServer(s.Handler()) }

// Close stops the server.
func (s *Server) Close() {
	if s.hs != nil {
		s.hs.CloseClientConnections()
		s.hs.Close()
	}
}

// URL is the endpoint once started.
func (s *Server) URL() string { return s.hs.URL }

// Credentials are valid AK/SK credentials for this simulator.
func (s *Server) Credentials() huaweicbr.Credentials {
	return huaweicbr.Credentials{Region: "sim-1", ProjectID: s.cfg.ProjectID, AccessKey: s.cfg.AccessKey, SecretKey: s.cfg.SecretKey, Endpoint: s.URL()}
}

// SetFaults changes fault injection at run time.
func (s *Server) SetFaults(f Faults) {
	if f.RetryAfter <= 0 {
		f.RetryAfter = 1
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Requests returns the request log.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]Request(nil), s.log...)
}

// AddPolicy stores a policy (an id is made if empty) and returns its id.
func (s *Server) AddPolicy(p Policy) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = s.uuid()
	}
	s.policies[p.ID] = p
	return p.ID
}

// AddOrganizationPolicy stores an organization policy and its members' delivery states.
func (s *Server) AddOrganizationPolicy(p OrganizationPolicy, members []MemberStatus) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = s.uuid()
	}
	s.orgs[p.ID] = p
	for i := range members {
		members[i].PolicyID = p.ID
	}
	s.members[p.ID] = members
	return p.ID
}

func (s *Server) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func intp(n int) *int { return &n }

// Populate adds a deterministic, realistic mix: enabled and disabled
// policies, daily/weekly/hourly schedules, short, long and unlimited (-1)
// retention, and organization policies of both types whose members are
// available, syncing or in error with an error_msg.
func (s *Server) Populate(seed int64, nPolicies, nOrgPolicies int) {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	patterns := [][]string{
		{"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=14;BYMINUTE=00"},
		{"FREQ=DAILY;INTERVAL=1;BYHOUR=2,14;BYMINUTE=00"},
		{"FREQ=WEEKLY;BYDAY=SU;BYHOUR=3;BYMINUTE=00"},
		{"FREQ=DAILY;INTERVAL=3;BYHOUR=1;BYMINUTE=30"},
		{"FREQ=HOURLY;INTERVAL=6;BYMINUTE=00"},
	}
	retention := []*int{intp(7), intp(35), intp(90), intp(-1), nil}
	for i := range nPolicies {
		op := "backup"
		if i%5 == 4 {
			op = "replication"
		}
		p := Policy{
			Name: fmt.Sprintf("policy-%03d", i), Enabled: r.IntN(6) != 0, OperationType: op, PolicyType: "custom_policy",
			OperationDefinition: OperationDefinition{RetentionDurationDays: retention[r.IntN(len(retention))], Timezone: "UTC+08:00"},
			Trigger: Trigger{Type: "time", Name: "default", Properties: TriggerProperties{
				Pattern: patterns[r.IntN(len(patterns))], StartTime: "2024-05-08 06:57:05"}},
			AssociatedVaults: []AssociatedVault{},
		}
		s.mu.Lock()
		p.ID, p.Trigger.ID = s.uuid(), s.uuid()
		s.policies[p.ID] = p
		s.mu.Unlock()
	}
	for i := range nOrgPolicies {
		s.AddOrganizationPolicy(randomOrgPolicy(r, i, patterns, retention), randomMembers(r, i))
	}
}

func randomOrgPolicy(r *rand.Rand, i int, patterns [][]string, retention []*int) OrganizationPolicy {
	p := OrganizationPolicy{Name: fmt.Sprintf("org-policy-%03d", i), PolicyName: fmt.Sprintf("org-policy-%03d", i),
		OperationType: []string{"backup", "replication"}[i%2], DomainID: "0ab4d110dc00d5ba0f5ac0103d5ebf60", DomainName: "org-admin",
		PolicyEnabled: r.IntN(6) != 0, Status: "available", EffectiveScope: "All_ACCOUNTS"}
	p.PolicyOperationDefinition.RetentionDurationDays = retention[r.IntN(len(retention))]
	p.PolicyTrigger.Properties.Pattern = patterns[r.IntN(len(patterns))]
	return p
}

func randomMembers(r *rand.Rand, i int) []MemberStatus {
	states := []string{"available", "available", "available", "syncing", "error"}
	var members []MemberStatus
	for m := range 1 + r.IntN(4) {
		ms := MemberStatus{DomainID: fmt.Sprintf("domain%02d", m), ProjectID: fmt.Sprintf("project%02d%03d", m, i), Status: states[r.IntN(len(states))]}
		if ms.Status == "error" {
			msg := "The number of policies exceeds the upper limit in the member account."
			ms.ErrorMsg = &msg
		}
		members = append(members, ms)
	}
	return members
}

// WriteError writes the CBR error envelope.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error_code": code, "error_msg": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// recorder logs a request when its status is decided, before any byte
// reaches the client: a test that has its answer finds it in the log.
type recorder struct {
	http.ResponseWriter
	status int
	logged func(status int)
}

func (r *recorder) WriteHeader(c int) {
	if r.status == 0 {
		r.status = c
		r.logged(c)
	}
	r.ResponseWriter.WriteHeader(c)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// Handler serves the simulator.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3/{project}/policies", s.listPolicies)
	mux.HandleFunc("GET /v3/{project}/policies/{id}", s.showPolicy)
	mux.HandleFunc("GET /v3/{project}/organization-policies", s.listOrgPolicies)
	mux.HandleFunc("GET /v3/{project}/organization-policies/{id}", s.showOrgPolicy)
	mux.HandleFunc("GET /v3/{project}/organization-policies/{id}/policy-detail", s.orgPolicyDetail)
	// Anything else, other methods on these paths included (the simulator
	// serves reads only): the gateway's "API does not exist".
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "APIG.0101", "The API does not exist or has not been published in the environment")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, logged: func(status int) {
			s.logMu.Lock()
			s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status})
			s.logMu.Unlock()
		}}
		defer func() {
			if rec.status == 0 { // nothing answered (a dropped connection)
				rec.logged(0)
			}
		}()
		if s.fault(rec, r) {
			return
		}
		rec.Header().Set("X-Request-Id", s.reqID())
		if err := s.auth(r); err != nil {
			WriteError(rec, http.StatusUnauthorized, "APIG.0301", "Incorrect IAM authentication information: "+err.Error())
			return
		}
		if parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v3/"), "/"); strings.HasPrefix(r.URL.Path, "/v3/") && parts[0] != s.cfg.ProjectID {
			WriteError(rec, http.StatusForbidden, "APIG.0302", "The project does not match the credentials")
			return
		}
		mux.ServeHTTP(rec, r)
	})
}

func (s *Server) reqID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.FormatUint(s.rng.Uint64(), 16)
}

func (s *Server) auth(r *http.Request) error {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		if s.cfg.AuthToken == "" || tok != s.cfg.AuthToken {
			return fmt.Errorf("invalid token")
		}
		return nil
	}
	return huaweicbr.Verify(r, func(ak string) (string, bool) {
		return s.cfg.SecretKey, ak == s.cfg.AccessKey
	}, s.cfg.Now(), 15*time.Minute)
}

func (s *Server) fault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.faults
	a, b, c, which := s.rng.Float64(), s.rng.Float64(), s.rng.Float64(), s.rng.IntN(2)
	s.mu.Unlock()
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			return true
		}
	}
	switch {
	case a < f.Rate429:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		WriteError(w, http.StatusTooManyRequests, "APIG.0308", "The throttling threshold has been reached")
		return true
	case b < f.Rate5xx:
		st := []int{http.StatusInternalServerError, http.StatusServiceUnavailable}[which]
		WriteError(w, st, "BackupService.0000", "Internal error")
		return true
	case c < f.RateDrop:
		if hj, ok := w.(*recorder).ResponseWriter.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				w.(*recorder).status = -1
				w.(*recorder).logged(-1)
				conn.Close()
				return true
			}
		}
	}
	return false
}

// paging validates limit (1..1000, default 1000) and offset (>= 0) and
// caps limit at the server's own maximum.
func (s *Server) paging(w http.ResponseWriter, r *http.Request) (limit, offset int, ok bool) {
	limit, offset = 1000, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			WriteError(w, http.StatusBadRequest, "BackupService.0001", "Invalid parameter: limit must be 1 to 1000")
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			WriteError(w, http.StatusBadRequest, "BackupService.0001", "Invalid parameter: offset must be >= 0")
			return 0, 0, false
		}
		offset = n
	}
	return min(limit, s.cfg.MaxLimit), offset, true
}

func opType(w http.ResponseWriter, v string, required bool) bool {
	if v == "" && !required || v == "backup" || v == "replication" {
		return true
	}
	WriteError(w, http.StatusBadRequest, "BackupService.0001", "Invalid parameter: operation_type must be backup or replication")
	return false
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) {
	op := r.URL.Query().Get("operation_type")
	if !opType(w, op, false) {
		return
	}
	s.mu.Lock()
	out := make([]Policy, 0, len(s.policies))
	for _, p := range s.policies {
		if op == "" || p.OperationType == op {
			out = append(out, p)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"policies": out, "count": len(out)})
}

func (s *Server) showPolicy(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, ok := s.policies[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		WriteError(w, http.StatusNotFound, "BackupService.6201", "The policy does not exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"policy": p})
}

func (s *Server) listOrgPolicies(w http.ResponseWriter, r *http.Request) {
	op := r.URL.Query().Get("operation_type")
	if !opType(w, op, true) {
		return
	}
	limit, offset, ok := s.paging(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	var all []OrganizationPolicy
	for _, p := range s.orgs {
		if p.OperationType == op {
			all = append(all, p)
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	page := window(all, offset, limit)
	writeJSON(w, http.StatusOK, map[string]any{"policies": page, "count": len(all), "limit": limit, "offset": offset})
}

func (s *Server) showOrgPolicy(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, ok := s.orgs[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		WriteError(w, http.StatusNotFound, "BackupService.6201", "The organization policy does not exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"policy": p})
}

// orgPolicyDetail ignores limit and offset: the API documents neither.
func (s *Server) orgPolicyDetail(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	_, exists := s.orgs[r.PathValue("id")]
	members := append([]MemberStatus(nil), s.members[r.PathValue("id")]...)
	s.mu.Unlock()
	if !exists {
		WriteError(w, http.StatusNotFound, "BackupService.6201", "The organization policy does not exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": window(members, 0, s.cfg.DetailPage), "count": len(members), "limit": s.cfg.DetailPage, "offset": 0})
}

func window[T any](all []T, offset, limit int) []T {
	if offset >= len(all) {
		return []T{}
	}
	return all[offset:min(offset+limit, len(all))]
}
