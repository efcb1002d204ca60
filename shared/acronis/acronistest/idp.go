package acronistest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"
)

type apiClient struct {
	ID, Secret, TenantID string
	CreatedAt            time.Time
	CreatedBy            string
	Name                 string
}

type user struct {
	ID, Login, Password, TenantID string
}

// AddAPIClient registers an API client of the given tenant ("" = root) and
// returns its id and secret.
func (s *Server) AddAPIClient(tenantID string) (clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenantID == "" {
		tenantID = s.rootID
	}
	c := &apiClient{ID: newUUID(s.rng), Secret: base64.RawURLEncoding.EncodeToString([]byte(newUUID(s.rng))), TenantID: tenantID, CreatedAt: s.cfg.Now(), Name: "test"}
	s.clients[c.ID] = c
	return c.ID, c.Secret
}

// AddLoginUser registers a console user (login and password) in a tenant
// ("" = root), for the Basic-auth bootstrap of an API client.
func (s *Server) AddLoginUser(login, password, tenantID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenantID == "" {
		tenantID = s.rootID
	}
	u := &user{ID: newUUID(s.rng), Login: login, Password: password, TenantID: tenantID}
	s.users[strings.ToLower(login)] = u
	s.usersID[u.ID] = u
	return u.ID
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// handleToken is POST /api/2/idp/token with the client-credentials grant.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
	case "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		tokenError(w, http.StatusBadRequest, "invalid_request", "unsupported grant_type")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		tokenError(w, http.StatusUnauthorized, "access_denied", "client authentication required")
		return
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil || !hmac.Equal([]byte(c.Secret), []byte(secret)) {
		tokenError(w, http.StatusUnauthorized, "access_denied", "invalid client credentials")
		return
	}
	now := s.cfg.Now()
	exp := now.Add(s.cfg.TokenTTL)
	s.mu.Lock()
	jti := newUUID(s.rng)
	s.mu.Unlock()
	tok := mintJWT(c, jti, now, exp)
	s.mu.Lock()
	s.tokens[tok] = tokenInfo{clientID: c.ID, tenantID: c.TenantID, expires: exp}
	s.mu.Unlock()
	body := map[string]any{"access_token": tok, "token_type": "bearer", "id_token": tok}
	switch s.cfg.TokenExpiryField {
	case "expires_in":
		body["expires_in"] = int(s.cfg.TokenTTL.Seconds())
	case "jwt":
	default:
		body["expires_on"] = exp.Unix()
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, body)
}

// mintJWT makes a JWT-shaped token with exp and owner_tuid claims, signed
// with a key derived from the client secret (only the simulator checks it).
func mintJWT(c *apiClient, jti string, now, exp time.Time) string {
	enc := base64.RawURLEncoding
	hdr := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"sub": c.ID, "owner_tuid": c.TenantID, "iat": now.Unix(), "exp": exp.Unix(), "jti": jti,
	})
	p := enc.EncodeToString(claims)
	m := hmac.New(sha256.New, []byte(c.Secret))
	m.Write([]byte(hdr + "." + p))
	return hdr + "." + p + "." + enc.EncodeToString(m.Sum(nil))
}

// basicUser authenticates a console user with HTTP Basic.
func (s *Server) basicUser(w http.ResponseWriter, r *http.Request) (*user, bool) {
	login, pw, ok := r.BasicAuth()
	s.mu.Lock()
	u := s.users[strings.ToLower(login)]
	s.mu.Unlock()
	if !ok || u == nil || !hmac.Equal([]byte(u.Password), []byte(pw)) {
		WriteError(w, http.StatusUnauthorized, "Unauthorized", "invalid login or password", "")
		return nil, false
	}
	return u, true
}

func (s *Server) handleUsersMe(w http.ResponseWriter, r *http.Request) {
	u, ok := s.basicUser(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	t := s.tenants[u.TenantID]
	kind, pricing, brand := t.Kind, t.PricingMode, t.BrandUUID
	s.mu.Unlock()
	WriteJSON(w, http.StatusOK, s.userMe(u, kind, pricing, brand))
}

// userMe is the document's userMe (lod=me): the full user schema, every
// field of which is required, plus terms_accepted, tenant_kind,
// tenant_pricing_model and brand_id.
func (s *Server) userMe(u *user, kind, pricing, brand string) map[string]any {
	at := stamp(s.cfg.Now())
	return map[string]any{
		"id": u.ID, "version": 1, "tenant_id": u.TenantID, "login": u.Login,
		"created_at": at, "updated_at": at, "deleted_at": nil, "access_policies": []any{},
		"origin_id": nil, "origin_external_id": nil, "disable_after": nil, "personal_tenant_id": nil,
		"enabled": true, "activated": true, "language": "en", "business_types": []string{}, "notifications": []string{},
		"contact":        map[string]any{"email": u.Login + "@example.com", "firstname": u.Login, "lastname": ""},
		"terms_accepted": true, "tenant_kind": kind, "tenant_pricing_model": pricing, "brand_id": brand,
	}
}

// handleCreateClient is POST /api/2/clients with a user's Basic auth.
func (s *Server) handleCreateClient(w http.ResponseWriter, r *http.Request) {
	u, ok := s.basicUser(w, r)
	if !ok || !s.checkContentType(w, r) {
		return
	}
	var body struct {
		Type                    string `json:"type"`
		TenantID                string `json:"tenant_id"`
		TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
		Data                    struct {
			ClientName string `json:"client_name"`
		} `json:"data"`
	}
	if !DecodeBody(w, r, &body) {
		return
	}
	switch {
	case body.Type != "api_client":
		WriteError(w, http.StatusBadRequest, "BadRequest", "type must be api_client", "")
		return
	case body.TokenEndpointAuthMethod != "client_secret_basic" && body.TokenEndpointAuthMethod != "client_secret_post":
		WriteError(w, http.StatusBadRequest, "BadRequest", "invalid token_endpoint_auth_method", "")
		return
	}
	s.mu.Lock()
	inScope := s.inSubtreeLocked(body.TenantID, u.TenantID)
	s.mu.Unlock()
	if !inScope {
		WriteError(w, http.StatusForbidden, "Forbidden", "tenant is outside the user's scope", "")
		return
	}
	id, secret := s.AddAPIClient(body.TenantID)
	s.mu.Lock()
	c := s.clients[id]
	c.Name, c.CreatedBy = body.Data.ClientName, u.ID
	s.mu.Unlock()
	out := s.clientJSON(c)
	out["client_secret"] = secret
	out["registration_access_token"] = ""
	WriteJSON(w, http.StatusCreated, out)
}

func (s *Server) clientJSON(c *apiClient) map[string]any {
	return map[string]any{
		"client_id": c.ID, "tenant_id": c.TenantID, "client_secret_expires_at": 0, "type": "api_client",
		"token_endpoint_auth_method": "client_secret_basic", "created_at": stamp(c.CreatedAt), "created_by": c.CreatedBy,
		"last_access_at": nil, "last_access_from_ip": nil, "status": "enabled", "data": map[string]any{"client_name": c.Name},
	}
}

func (s *Server) handleGetClient(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	s.mu.Lock()
	c := s.clients[r.PathValue("id")]
	visible := c != nil && s.inSubtreeLocked(c.TenantID, auth.tenantID)
	s.mu.Unlock()
	if !visible {
		WriteError(w, http.StatusNotFound, "NotFound", "client not found", "")
		return
	}
	WriteJSON(w, http.StatusOK, s.clientJSON(c))
}
