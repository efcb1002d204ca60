package acronis

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
	"golang.org/x/sync/singleflight"
)

// Token is a bearer access token and when it stops working.
type Token struct {
	AccessToken string
	ExpiresAt   time.Time
}

// String and LogValue keep the token itself out of any output.
func (t Token) String() string {
	return "Token{expires_at=" + t.ExpiresAt.UTC().Format(time.RFC3339) + "}"
}

// LogValue implements slog.LogValuer.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("expires_at", t.ExpiresAt))
}

// ValidFor reports whether the token is usable for at least d more.
func (t Token) ValidFor(now time.Time, d time.Duration) bool {
	return t.AccessToken != "" && t.ExpiresAt.Sub(now) > d
}

// TokenSource hands out a usable token.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// Invalidator is implemented by sources that can drop a token the API
// rejected with 401, so the next Token call fetches a fresh one.
type Invalidator interface {
	Invalidate(rejected Token)
}

// Credentials are the API client's, as kept in Secrets Manager.
type Credentials struct {
	BaseURL      string `json:"base_url"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// String keeps the secret out of any output.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{base_url=%s client_id=%s client_secret=[redacted]}", c.BaseURL, c.ClientID)
}

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("client_id", c.ClientID))
}

// ParseCredentials decodes and checks the API client secret. Errors name the
// field and the reason, never a value.
func ParseCredentials(b []byte) (Credentials, error) {
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("acronis credentials: not a JSON object with base_url, client_id, client_secret: %w", jsonErrorNoValue(err))
	}
	if err := CheckBaseURL(c.BaseURL); err != nil {
		return Credentials{}, fmt.Errorf("acronis credentials: field \"base_url\": %w", err)
	}
	if strings.TrimSpace(c.ClientID) == "" {
		return Credentials{}, errors.New("acronis credentials: field \"client_id\": missing")
	}
	if c.ClientSecret == "" {
		return Credentials{}, errors.New("acronis credentials: field \"client_secret\": missing")
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c, nil
}

// CheckBaseURL accepts https URLs, and http only for loopback (simulators).
func CheckBaseURL(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && inputcheck.LoopbackHost(u.Hostname()):
	default:
		return errors.New("must be https (http only for a local simulator)")
	}
	if u.RawQuery != "" || u.User != nil {
		return errors.New("must not carry a query or user info")
	}
	return nil
}

// jsonErrorNoValue drops anything of the input from a JSON error: a syntax
// error can quote part of the secret.
func jsonErrorNoValue(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q: want %s", te.Field, te.Type)
	}
	return errors.New("invalid JSON")
}

// TokenPath is the platform's token endpoint, relative to the base URL.
const TokenPath = "/api/2/idp/token"

// ClientCredentials mints tokens with the client-credentials grant.
type ClientCredentials struct {
	Creds Credentials
	HTTP  *http.Client
	Now   func() time.Time
}

// Token asks the token endpoint for a new token. An answer cut off mid-body
// is asked for again (minting twice is harmless). Minting has its own retry
// budget: it is not charged to the API call that needed the token.
func (c *ClientCredentials) Token(ctx context.Context) (Token, error) {
	ctx = httpretry.WithBudget(ctx)
	var tok Token
	err := AgainIfCut(ctx, func(ctx context.Context) (err error) {
		tok, err = c.mint(ctx)
		return err
	})
	return tok, err
}

func (c *ClientCredentials) mint(ctx context.Context) (Token, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	// Minting has no side effect beyond a new token: safe to retry on 5xx.
	req, err := http.NewRequestWithContext(httpretry.Idempotent(ctx), http.MethodPost, c.Creds.BaseURL+TokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, fmt.Errorf("acronis token: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(c.Creds.ClientID, c.Creds.ClientSecret)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("acronis token: %s unreachable: %w", c.Creds.BaseURL, redactURLError(err))
	}
	if resp.StatusCode/100 != 2 {
		return Token{}, fmt.Errorf("acronis token: %w", readError(resp, http.MethodPost, TokenPath))
	}
	defer resp.Body.Close()
	resp.Body = http.MaxBytesReader(nil, resp.Body, 1<<20)
	b, err := readAnswer(resp)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return Token{}, fmt.Errorf("acronis token: answer over %d bytes", tooBig.Limit)
	}
	if err != nil {
		return Token{}, fmt.Errorf("acronis token: read response: %w", err)
	}
	// Errors name the place, never the bytes: they may hold the token.
	var body json.RawMessage
	if err := json.Unmarshal(b, &body); err != nil {
		return Token{}, fmt.Errorf("acronis token: read response: %w", jsonErrorNoValue(err))
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	tok, err := ParseTokenResponse(body, now())
	if err != nil {
		return Token{}, fmt.Errorf("acronis token: %w", err)
	}
	return tok, nil
}

// redactURLError keeps the transport error but not the URL's user info.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// ParseTokenResponse reads a token answer. The expiry comes from expires_on
// (unix seconds), else expires_in (seconds from now), else the JWT's exp claim:
// different data centres and client versions send different ones.
func ParseTokenResponse(body []byte, now time.Time) (Token, error) {
	var r struct {
		AccessToken string   `json:"access_token"`
		TokenType   string   `json:"token_type"`
		ExpiresOn   *float64 `json:"expires_on"`
		ExpiresIn   *float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Token{}, fmt.Errorf("token response: %w", jsonErrorNoValue(err))
	}
	if r.AccessToken == "" {
		return Token{}, errors.New("token response: field \"access_token\": missing")
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return Token{}, fmt.Errorf("token response: field \"token_type\": %q is not bearer", r.TokenType)
	}
	const maxLife = 30 * 24 * time.Hour // anything longer is a unit mix-up
	var exp time.Time
	switch {
	case r.ExpiresOn != nil && *r.ExpiresOn > 0 && *r.ExpiresOn < 1e11:
		exp = time.Unix(int64(*r.ExpiresOn), 0)
	case r.ExpiresIn != nil && *r.ExpiresIn > 0 && *r.ExpiresIn < maxLife.Seconds():
		exp = now.Add(time.Duration(*r.ExpiresIn * float64(time.Second)))
	default:
		e, ok := jwtExpiry(r.AccessToken)
		if !ok {
			return Token{}, errors.New("token response: no usable expires_on, expires_in or JWT exp")
		}
		exp = e
	}
	if !exp.After(now) {
		return Token{}, errors.New("token response: token already expired")
	}
	if exp.Sub(now) > maxLife {
		return Token{}, errors.New("token response: expiry too far in the future")
	}
	return Token{AccessToken: r.AccessToken, ExpiresAt: exp.UTC()}, nil
}

// jwtExpiry reads the exp claim without verifying the signature: the token is
// only ever sent back to the issuer, which verifies it.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil || *claims.Exp <= 0 || *claims.Exp > 1e11 {
		return time.Time{}, false
	}
	return time.Unix(int64(*claims.Exp), 0), true
}

// CachedSource keeps a token and refreshes it Margin before expiry. Concurrent
// callers share one refresh. Invalidate drops a token the API rejected.
type CachedSource struct {
	src     TokenSource
	margin  time.Duration
	now     func() time.Time
	timeout time.Duration

	mu    sync.Mutex
	tok   Token
	group singleflight.Group
}

// DefaultMargin refreshes half an hour early, as Acronis's own Go kit does:
// a long job started with a token that has 20 minutes left would fail mid-way.
const DefaultMargin = 30 * time.Minute

// DefaultRefreshTimeout bounds one shared refresh. It cannot borrow a
// caller's deadline (the caller may leave), so it has its own: long enough for
// a token request with its retries, or a synchronous invoke of token-refresh
// (30 s timeout) after a cold start.
const DefaultRefreshTimeout = time.Minute

// NewCachedSource wraps src. A margin <= 0 means DefaultMargin.
func NewCachedSource(src TokenSource, margin time.Duration) *CachedSource {
	if margin <= 0 {
		margin = DefaultMargin
	}
	return &CachedSource{src: src, margin: margin, now: time.Now, timeout: DefaultRefreshTimeout}
}

// SetClock replaces the clock (tests). Call it before first use.
func (c *CachedSource) SetClock(now func() time.Time) { c.now = now }

// SetRefreshTimeout replaces DefaultRefreshTimeout. Call it before first use.
func (c *CachedSource) SetRefreshTimeout(d time.Duration) {
	if d > 0 {
		c.timeout = d
	}
}

// Token returns the cached token or a fresh one.
func (c *CachedSource) Token(ctx context.Context) (Token, error) {
	c.mu.Lock()
	tok := c.tok
	c.mu.Unlock()
	if tok.ValidFor(c.now(), c.margin) {
		return tok, nil
	}
	// The refresh runs detached from any one caller's cancellation, so a caller
	// that gives up does not fail the others waiting on the same refresh.
	ch := c.group.DoChan("token", func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		t, err := c.src.Token(rctx)
		if err != nil {
			return Token{}, err
		}
		c.mu.Lock()
		c.tok = t
		c.mu.Unlock()
		return t, nil
	})
	select {
	case <-ctx.Done():
		return Token{}, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	}
}

// Invalidate forgets rejected if it is still the cached token.
func (c *CachedSource) Invalidate(rejected Token) {
	c.mu.Lock()
	if c.tok.AccessToken == rejected.AccessToken {
		c.tok = Token{}
	}
	c.mu.Unlock()
	if inv, ok := c.src.(Invalidator); ok {
		inv.Invalidate(rejected)
	}
}
