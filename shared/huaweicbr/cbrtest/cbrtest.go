// Package cbrtest is a strict simulator of the Huawei Cloud CBR endpoints
// the audit uses. It verifies AK/SK signatures (or an X-Auth-Token), serves
// the documented shapes with offset paging, answers errors in the
// {"error_code","error_msg"} envelope, and injects latency, 429 (APIG.0308),
// 5xx and dropped connections.
//
// Error codes: APIG.0301 (authentication) and APIG.0308 (throttling) are the
// API gateway's documented codes; the BackupService codes for a missing
// policy and for invalid parameters are the simulator's stand-ins (our notes
// do not record CBR's exact ones); clients must not depend on them.
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
	policies map[string]huaweicbr.Policy
	orgs     map[string]huaweicbr.OrganizationPolicy
	members  map[string][]huaweicbr.MemberStatus
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
	return &Server{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0xcb5)), faults: cfg.Faults,
		policies: map[string]huaweicbr.Policy{}, orgs: map[string]huaweicbr.OrganizationPolicy{}, members: map[string][]huaweicbr.MemberStatus{}}
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
func (s *Server) AddPolicy(p huaweicbr.Policy) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = s.uuid()
	}
	s.policies[p.ID] = p
	return p.ID
}

// AddOrganizationPolicy stores an organization policy and its members' delivery states.
func (s *Server) AddOrganizationPolicy(p huaweicbr.OrganizationPolicy, members []huaweicbr.MemberStatus) string {
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
		p := huaweicbr.Policy{
			Name: fmt.Sprintf("policy-%03d", i), Enabled: r.IntN(6) != 0, OperationType: op,
			OperationDefinition: huaweicbr.OperationDefinition{RetentionDurationDays: retention[r.IntN(len(retention))], Timezone: "UTC+08:00"},
		}
		p.Trigger.Type, p.Trigger.Name = "time", "default"
		p.Trigger.Properties.Pattern = patterns[r.IntN(len(patterns))]
		p.Trigger.Properties.StartTime = "2024-05-08 06:57:05"
		s.mu.Lock()
		p.ID, p.Trigger.ID = s.uuid(), s.uuid()
		s.policies[p.ID] = p
		s.mu.Unlock()
	}
	states := []string{"available", "available", "available", "syncing", "error"}
	for i := range nOrgPolicies {
		op := []string{"backup", "replication"}[i%2]
		p := huaweicbr.OrganizationPolicy{Name: fmt.Sprintf("org-policy-%03d", i), OperationType: op, EffectiveScope: "All_ACCOUNTS"}
		p.OperationDefinition.RetentionDurationDays = retention[r.IntN(len(retention))]
		p.Trigger.Type = "time"
		p.Trigger.Properties.Pattern = patterns[r.IntN(len(patterns))]
		var members []huaweicbr.MemberStatus
		for m := range 1 + r.IntN(4) {
			st := states[r.IntN(len(states))]
			ms := huaweicbr.MemberStatus{DomainID: fmt.Sprintf("domain%02d", m), DomainName: fmt.Sprintf("member-%02d", m),
				ProjectID: fmt.Sprintf("project%02d%03d", m, i), ProjectName: "ap-southeast-1", Status: st}
			if st == "error" {
				msg := "The number of policies exceeds the upper limit in the member account."
				ms.ErrorMsg = &msg
			}
			members = append(members, ms)
		}
		s.AddOrganizationPolicy(p, members)
	}
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

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(c int) {
	if r.status == 0 {
		r.status = c
	}
	r.ResponseWriter.WriteHeader(c)
}

// Handler serves the simulator.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3/{project}/policies", s.listPolicies)
	mux.HandleFunc("GET /v3/{project}/policies/{id}", s.showPolicy)
	mux.HandleFunc("GET /v3/{project}/organization-policies", s.listOrgPolicies)
	mux.HandleFunc("GET /v3/{project}/organization-policies/{id}", s.showOrgPolicy)
	mux.HandleFunc("GET /v3/{project}/organization-policies/{id}/policy-detail", s.orgPolicyDetail)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		defer func() {
			s.logMu.Lock()
			s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status})
			s.logMu.Unlock()
		}()
		if s.fault(rec, r) {
			return
		}
		rec.Header().Set("X-Request-Id", s.reqID())
		if err := s.auth(r); err != nil {
			WriteError(rec, http.StatusUnauthorized, "APIG.0301", "Incorrect IAM authentication information: "+err.Error())
			return
		}
		if parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v3/"), "/"); parts[0] != s.cfg.ProjectID {
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
				conn.Close()
				return true
			}
		}
	}
	return false
}

// paging validates limit (1..1000, default 1000) and offset (>= 0).
func paging(w http.ResponseWriter, r *http.Request) (limit, offset int, ok bool) {
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
	return limit, offset, true
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
	out := make([]huaweicbr.Policy, 0, len(s.policies))
	for _, p := range s.policies {
		if op == "" || p.OperationType == op {
			out = append(out, p)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"policies": out})
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
	limit, offset, ok := paging(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	var all []huaweicbr.OrganizationPolicy
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

func (s *Server) orgPolicyDetail(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := paging(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	_, exists := s.orgs[r.PathValue("id")]
	members := append([]huaweicbr.MemberStatus(nil), s.members[r.PathValue("id")]...)
	s.mu.Unlock()
	if !exists {
		WriteError(w, http.StatusNotFound, "BackupService.6201", "The organization policy does not exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": window(members, offset, limit), "count": len(members), "limit": limit, "offset": offset})
}

func window[T any](all []T, offset, limit int) []T {
	if offset >= len(all) {
		return []T{}
	}
	return all[offset:min(offset+limit, len(all))]
}
