// Package acronistest is a strict, in-memory simulator of the Acronis Cyber
// Platform endpoints this project uses. It answers with the documented shapes
// and error envelopes, pages with cursors, expires tokens, scopes every call
// to the API client's tenant subtree, and injects latency and faults.
// Tests use it through httptest; scripts/sim runs it standalone.
package acronistest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Faults are injected before a request reaches its handler. Rates are
// probabilities in [0,1].
type Faults struct {
	Latency     time.Duration // added to every request
	Rate429     float64       // 429 with Retry-After
	RetryAfter  int           // seconds sent with injected 429s (default 1)
	Rate5xx     float64       // 500/502/503 at random
	RateDrop    float64       // connection closed with no answer
	RateCut     float64       // 2xx answer cut off: headers and half the body, then the connection closes
	RateLimit   float64       // server-wide requests per rolling second; beyond it 429 (0 = none)
	PathPrefix  string        // faults apply only to paths with this prefix ("" = all)
	SkipTokenEP bool          // spare the token endpoint (to test one layer at a time)
}

// Config sets up a simulator.
type Config struct {
	TokenTTL time.Duration // default 2h
	// TokenExpiryField chooses how the token answer states its expiry:
	// "expires_on" (default), "expires_in" or "jwt" (only the JWT exp claim).
	TokenExpiryField string
	PageCap          int   // most items in one page whatever limit asks (default 500)
	Seed             int64 // for fault injection and generated data
	Faults           Faults
	Now              func() time.Time
}

// Request is one entry of the request log.
type Request struct {
	Method string
	Path   string
	Query  string
	Status int // or StatusDropped, StatusCut
	At     time.Time
}

// Statuses of the request log for answers that never arrived whole.
const (
	StatusDropped = -1 // connection closed with no answer
	StatusCut     = -2 // a 2xx answer cut off mid-body
)

// Server is the simulator.
type Server struct {
	cfg Config

	mu       sync.Mutex
	rng      *rand.Rand
	faults   Faults
	limiter  *windowLimiter
	logMu    sync.Mutex // separate: handlers answer while holding mu
	log      []Request
	clients  map[string]*apiClient // by client_id
	users    map[string]*user      // by login (case-insensitive)
	usersID  map[string]*user      // by id
	tokens   map[string]tokenInfo
	tenants  map[string]*tenant
	children map[string][]string // parent id -> child ids, in creation order
	rootID   string
	subtrees map[string][]string // cached walks, dropped when the tree changes

	reports        map[string]*report
	resources      map[string][]*resource // tenant id -> machines with policy statuses
	provSt         *provState
	reportBehavior ReportBehavior
	dropsLeft      int

	mux *http.ServeMux
	hs  *httptest.Server
}

type tokenInfo struct {
	clientID string
	tenantID string // scope root
	expires  time.Time
}

// New builds a simulator with one root tenant. It does not listen: use
// Start, NewServer (tests) or Handler.
func New(cfg Config) *Server {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 2 * time.Hour
	}
	if cfg.PageCap <= 0 {
		cfg.PageCap = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed)),
		clients:  map[string]*apiClient{},
		users:    map[string]*user{},
		usersID:  map[string]*user{},
		tokens:   map[string]tokenInfo{},
		tenants:  map[string]*tenant{},
		children: map[string][]string{},
		mux:      http.NewServeMux(),
	}
	s.setFaultsLocked(cfg.Faults)
	s.reportBehavior.Size = 64 << 10
	root := s.newTenantLocked("MSP Root", "root", "", "")
	s.rootID = root.ID
	s.routes()
	return s
}

// NewServer starts a simulator for a test and stops it when the test ends.
func NewServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := New(cfg)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// Start listens on a loopback port.
func (s *Server) Start() { s.hs = httptest.NewServer(s.Handler()) }

// Close stops listening.
func (s *Server) Close() {
	if s.hs != nil {
		s.hs.CloseClientConnections()
		s.hs.Close()
	}
}

// URL is the base URL (the "data centre") once started.
func (s *Server) URL() string { return s.hs.URL }

// RootTenantID is the top tenant's id.
func (s *Server) RootTenantID() string { return s.rootID }

// SetFaults changes fault injection at run time.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

func (s *Server) setFaultsLocked(f Faults) {
	if f.RetryAfter <= 0 {
		f.RetryAfter = 1
	}
	s.faults = f
	s.limiter = nil
	if f.RateLimit > 0 {
		s.limiter = newWindowLimiter(f.RateLimit)
	}
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]Request(nil), s.log...)
}

// CountRequests counts logged requests with this method ("" = any) whose path
// starts with prefix, whatever their answer.
func (s *Server) CountRequests(method, prefix string) int {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	n := 0
	for _, r := range s.log {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.logMu.Lock()
	s.log = nil
	s.logMu.Unlock()
}

// ExpireTokens makes every issued token expire now (a token that dies mid-run).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.tokens {
		v.expires = s.cfg.Now().Add(-time.Second)
		s.tokens[k] = v
	}
}

// Handler serves the simulator's API.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serve)
}

// route registers an authenticated JSON endpoint.
func (s *Server) route(pattern string, h func(w http.ResponseWriter, r *http.Request, auth tokenInfo)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		auth, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !s.checkContentType(w, r) {
			return
		}
		h(w, r, auth)
	})
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST /api/2/idp/token", s.handleToken)
	s.mux.HandleFunc("POST /api/2/clients", s.handleCreateClient)
	s.mux.HandleFunc("GET /api/2/users/me", s.handleUsersMe)
	s.route("GET /api/2/clients/{id}", s.handleGetClient)
	s.routesTenants()
	s.routesReports()
	s.routesUsage()
	s.routesPolicy()
	s.routesProvisioning()
	s.routesAlerts()
	s.routesTasks()
	s.routesAgents()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "NotFound", "no such endpoint: "+r.Method+" "+r.URL.Path, "")
	})
}

// statusRecorder logs the request when its status is decided, before any
// byte reaches the client, so a test that has its answer sees it logged.
type statusRecorder struct {
	http.ResponseWriter
	status int
	logged func(status int)
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.logged(code)
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if r.status == 0 {
		r.status = StatusDropped
		r.logged(StatusDropped)
	}
	return r.ResponseWriter.(http.Hijacker).Hijack()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, logged: func(st int) {
		s.logMu.Lock()
		s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: st, At: time.Now()})
		s.logMu.Unlock()
	}}
	defer func() {
		if rec.status == 0 { // handler wrote nothing, or the client went away
			rec.status = StatusDropped
			rec.logged(StatusDropped)
		}
	}()
	answered, cut := s.injectFault(rec, r)
	if answered {
		return
	}
	rec.Header().Set("X-Request-Id", strconv.FormatUint(s.rand64(), 16))
	if !cut {
		s.mux.ServeHTTP(rec, r)
		return
	}
	cw := &halfAnswer{statusRecorder: rec, raw: w}
	s.mux.ServeHTTP(cw, r)
	cw.cut()
}

// halfAnswer holds a whole answer, then sends its headers and the first half
// of a 2xx body and breaks the connection: what a client sees when a
// connection dies mid-answer. Error answers pass whole.
type halfAnswer struct {
	*statusRecorder
	raw  http.ResponseWriter // the server's own writer, for Flush
	code int                 // what the handler answered
	body bytes.Buffer
}

func (c *halfAnswer) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}

func (c *halfAnswer) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.body.Write(b)
}

func (c *halfAnswer) cut() {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	whole := c.body.Bytes()
	if c.code/100 != 2 || len(whole) < 2 {
		c.statusRecorder.WriteHeader(c.code)
		_, _ = c.statusRecorder.Write(whole)
		return
	}
	c.statusRecorder.status = StatusCut // logged as cut, not as the status sent
	c.logged(StatusCut)
	c.Header().Set("Content-Length", strconv.Itoa(len(whole)))
	c.statusRecorder.WriteHeader(c.code)
	_, _ = c.statusRecorder.Write(whole[:len(whole)/2])
	_ = http.NewResponseController(c.raw).Flush()
	panic(http.ErrAbortHandler) // net/http closes the connection
}

func (s *Server) rand64() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Uint64()
}

// injectFault applies latency, rate limit and random faults. It reports
// whether it answered (or dropped) the request itself, and whether the
// handler's answer is to be cut off.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) (answered, cut bool) {
	s.mu.Lock()
	f := s.faults
	applies := strings.HasPrefix(r.URL.Path, f.PathPrefix) && !(f.SkipTokenEP && r.URL.Path == "/api/2/idp/token")
	admitted, wait := s.limiter.allow(time.Now())
	var roll429, roll5xx, rollDrop float64
	var which int
	if applies {
		roll429, roll5xx, rollDrop = s.rng.Float64(), s.rng.Float64(), s.rng.Float64()
		which = s.rng.IntN(3)
		// Drawn only when asked for, so seeds keep their old sequences.
		cut = f.RateCut > 0 && s.rng.Float64() < f.RateCut
	}
	s.mu.Unlock()

	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true, false
		}
	}
	if !admitted {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
		WriteError(w, http.StatusTooManyRequests, "TooManyRequests", "rate limit exceeded", "")
		return true, false
	}
	if !applies {
		return false, false
	}
	switch {
	case roll429 < f.Rate429:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		WriteError(w, http.StatusTooManyRequests, "TooManyRequests", "too many requests", "")
		return true, false
	case roll5xx < f.Rate5xx:
		st := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[which]
		WriteError(w, st, "InternalError", http.StatusText(st), "")
		return true, false
	case rollDrop < f.RateDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true, false
			}
		}
		panic(http.ErrAbortHandler)
	}
	return false, cut
}

// WriteError writes the account-server error envelope
// {"error":{"code","message","domain","details":{"info":null}}}. A numeric
// code string is written as a number, as the account server does.
func WriteError(w http.ResponseWriter, status int, code, message, info string) {
	var c any = code
	if n, err := strconv.Atoi(code); err == nil {
		c = n
	}
	var inf any
	if info != "" {
		inf = info
	}
	WriteJSON(w, status, map[string]any{"error": map[string]any{
		"code": c, "message": message, "domain": "AccountServer", "details": map[string]any{"info": inf},
	}})
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (tokenInfo, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		WriteError(w, http.StatusUnauthorized, "Unauthorized", "missing bearer token", "")
		return tokenInfo{}, false
	}
	s.mu.Lock()
	info, found := s.tokens[tok]
	s.mu.Unlock()
	if !found {
		WriteError(w, http.StatusUnauthorized, "Unauthorized", "invalid access token", "")
		return tokenInfo{}, false
	}
	if !s.cfg.Now().Before(info.expires) {
		WriteError(w, http.StatusUnauthorized, "Unauthorized", "access token expired", "")
		return tokenInfo{}, false
	}
	return info, true
}

// checkContentType answers 415 to a body that is not JSON.
func (s *Server) checkContentType(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return true
	}
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return true // empty bodies (send-activation-email, PSA /Person) need no type
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		WriteError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/json", "")
		return false
	}
	return true
}

// DecodeBody decodes a JSON body strictly (unknown fields are a 400, as the
// platform's schemas with additionalProperties:false are) and answers 400 on
// failure.
func DecodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		WriteError(w, http.StatusBadRequest, "BadRequest", "invalid request body", err.Error())
		return false
	}
	if dec.More() {
		WriteError(w, http.StatusBadRequest, "BadRequest", "invalid request body", "trailing data after the JSON value")
		return false
	}
	return true
}

// uint32er is any deterministic source of ids (the simulator's rng, or a hash
// sequence for ids derived from a tenant).
type uint32er interface{ Uint32() uint32 }

func newUUID(rng *rand.Rand) string { return newUUIDFrom(rng) }

func newUUIDFrom(rng uint32er) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
