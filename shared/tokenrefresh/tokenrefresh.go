// Package tokenrefresh keeps a fresh Acronis access token in Secrets Manager.
// Only the token-refresh function reads the API client's secret; every other
// function reads the token secret through SecretSource and, when the token
// there is missing, expiring or rejected, asks token-refresh for a new one
// instead of minting its own (one writer, one version stream).
package tokenrefresh

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
)

// StoredToken is the token secret's value.
type StoredToken struct {
	AccessToken string    `json:"access_token"`
	ExpiresAt   time.Time `json:"expires_at"`
	BaseURL     string    `json:"base_url"`
}

// ParseStoredToken decodes and checks the token secret. Errors name the field.
func ParseStoredToken(b []byte) (StoredToken, error) {
	var t StoredToken
	if err := json.Unmarshal(b, &t); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return StoredToken{}, fmt.Errorf("token secret: invalid JSON at byte %d", se.Offset)
		}
		return StoredToken{}, errors.New("token secret: not an object with access_token, expires_at (RFC 3339), base_url")
	}
	switch {
	case t.AccessToken == "":
		return StoredToken{}, errors.New("token secret: field \"access_token\": missing")
	case t.ExpiresAt.IsZero():
		return StoredToken{}, errors.New("token secret: field \"expires_at\": missing")
	}
	if err := acronis.CheckBaseURL(t.BaseURL); err != nil {
		return StoredToken{}, fmt.Errorf("token secret: field \"base_url\": %w", err)
	}
	return t, nil
}

// Token converts to the client's token type.
func (t StoredToken) Token() acronis.Token {
	return acronis.Token{AccessToken: t.AccessToken, ExpiresAt: t.ExpiresAt}
}

// Fingerprint names a token in requests and logs without revealing it.
func Fingerprint(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return hex.EncodeToString(sum[:8])
}

// Request is the function's input: {} on schedule, {"force": true} by hand.
// Rejected is the fingerprint of a token a caller saw refused with 401: it
// forces a refresh only while that token is still the stored one, so many
// callers reporting the same token cause one refresh.
type Request struct {
	Force    bool   `json:"force,omitempty"`
	Rejected string `json:"rejected,omitempty"`
}

// Result is the function's output. Status is "refreshed", "fresh" (the
// stored token was kept) or "not_configured" (the API client secret still
// holds the template's placeholder; nothing was minted or written).
type Result struct {
	Status      string    `json:"status"`
	Refreshed   bool      `json:"refreshed"`
	Reason      string    `json:"reason"`
	ExpiresAt   time.Time `json:"expires_at"`
	Fingerprint string    `json:"token_fingerprint"`
	BaseURL     string    `json:"base_url"`
}

// DefaultMargin: the schedule runs every 30 minutes and a job may run 15
// minutes on the token it read, so a token with under an hour left is
// replaced now rather than at the next run.
const DefaultMargin = 60 * time.Minute

// Refresher is the token-refresh job.
type Refresher struct {
	Secrets        secrets.Store
	ClientSecretID string
	TokenSecretID  string
	HTTP           *http.Client
	Margin         time.Duration
	Now            func() time.Time
	Log            *slog.Logger
}

func (r *Refresher) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run refreshes the stored token when it is missing, malformed, for another
// data centre, within Margin of expiry, rejected, or when forced. Nothing is
// written unless a new token was minted, and the write is a single atomic
// PutSecretValue: readers never see half a secret.
func (r *Refresher) Run(ctx context.Context, req Request) (Result, error) {
	log := cmp.Or(r.Log, slog.Default())
	if r.ClientSecretID == "" || r.TokenSecretID == "" {
		return Result{}, errors.New("token refresh: ACRONIS_CLIENT_SECRET_ID and ACRONIS_TOKEN_SECRET_ID must be set")
	}
	raw, err := r.Secrets.Get(ctx, r.ClientSecretID)
	if err != nil {
		return Result{}, fmt.Errorf("token refresh: read API client secret %s: %w", r.ClientSecretID, err)
	}
	if IsPlaceholder(raw) {
		return r.notConfigured(ctx, log, req)
	}
	creds, err := acronis.ParseCredentials(raw)
	if err != nil {
		return Result{}, fmt.Errorf("token refresh: API client secret %s: %w", r.ClientSecretID, err)
	}
	reason := "forced"
	if !req.Force {
		var fresh *Result
		if reason, fresh = r.whyRefresh(ctx, log, req, creds); fresh != nil {
			return *fresh, nil
		}
	}
	return r.mintAndStore(ctx, log, creds, reason)
}

// whyRefresh says why the stored token must be replaced, or returns the
// result for a token that is still fresh.
func (r *Refresher) whyRefresh(ctx context.Context, log *slog.Logger, req Request, creds acronis.Credentials) (string, *Result) {
	margin := r.Margin
	if margin <= 0 {
		margin = DefaultMargin
	}
	stored, err := r.readStored(ctx)
	switch {
	case errors.Is(err, secrets.ErrNotFound):
		return "no token stored yet", nil
	case err != nil:
		return "stored token unusable: " + err.Error(), nil
	case stored.BaseURL != creds.BaseURL:
		return "stored token is for another data centre", nil
	case req.Rejected != "" && req.Rejected == Fingerprint(stored.AccessToken):
		return "stored token was rejected by the API", nil
	case !stored.Token().ValidFor(r.now(), margin):
		return fmt.Sprintf("stored token expires within %v", margin), nil
	}
	log.InfoContext(ctx, "token still fresh", "expires_at", stored.ExpiresAt, "token_fingerprint", Fingerprint(stored.AccessToken))
	return "", &Result{Status: "fresh", Refreshed: false, Reason: "still valid beyond the margin", ExpiresAt: stored.ExpiresAt,
		Fingerprint: Fingerprint(stored.AccessToken), BaseURL: stored.BaseURL}
}

// mintAndStore mints a token and writes it with one PutSecretValue, so a
// failure never leaves half a secret.
func (r *Refresher) mintAndStore(ctx context.Context, log *slog.Logger, creds acronis.Credentials, reason string) (Result, error) {
	src := &acronis.ClientCredentials{Creds: creds, HTTP: r.HTTP, Now: r.Now}
	tok, err := src.Token(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("token refresh: mint token at %s: %w", creds.BaseURL, err)
	}
	out, err := json.Marshal(StoredToken{AccessToken: tok.AccessToken, ExpiresAt: tok.ExpiresAt, BaseURL: creds.BaseURL})
	if err != nil {
		return Result{}, fmt.Errorf("token refresh: encode token: %w", err)
	}
	if err := r.Secrets.Put(ctx, r.TokenSecretID, out); err != nil {
		return Result{}, fmt.Errorf("token refresh: write token secret %s: %w", r.TokenSecretID, err)
	}
	fp := Fingerprint(tok.AccessToken)
	log.InfoContext(ctx, "token refreshed", "reason", reason, "expires_at", tok.ExpiresAt, "token_fingerprint", fp)
	return Result{Status: "refreshed", Refreshed: true, Reason: reason, ExpiresAt: tok.ExpiresAt, Fingerprint: fp, BaseURL: creds.BaseURL}, nil
}

// BootstrapStep is what an operator runs to store the API client.
const BootstrapStep = "run scripts/bootstrap-api-client (README, Deploy)"

// ErrNotConfigured: the API client secret still holds the template's
// placeholder, so no token can be minted until the bootstrap step has run.
var ErrNotConfigured = errors.New("token refresh: the API client is not stored yet: " + BootstrapStep)

// IsPlaceholder reports whether the API client secret holds what the
// template creates it with ({"base_url": "", "client_id": "", "client_secret": ""})
// or an equally empty object: a fresh stack, not a broken one. A secret
// with any field filled in is not a placeholder, and a wrong one is an error.
func IsPlaceholder(raw []byte) bool {
	var fields map[string]any
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return false
	}
	for _, v := range fields {
		if s, ok := v.(string); v != nil && (!ok || s != "") {
			return false
		}
	}
	return true
}

// notConfigured answers a fresh stack. The schedule's run succeeds with one
// WARN line, so the errors alarm does not page every 30 minutes until the
// bootstrap step has run. A forced run (an operator, or another function
// whose stored token is missing or unreadable) or one reporting a rejected
// token fails with ErrNotConfigured: its caller needs a token, and the error
// names the step that gives it one. (A caller whose stored token merely
// expired gets the generic "still expired" error.)
func (r *Refresher) notConfigured(ctx context.Context, log *slog.Logger, req Request) (Result, error) {
	if req.Force || req.Rejected != "" {
		return Result{}, ErrNotConfigured
	}
	log.WarnContext(ctx, "API client not configured: no token minted", "client_secret_id", r.ClientSecretID, "next_step", BootstrapStep)
	return Result{Status: "not_configured", Reason: "the API client secret holds the template's placeholder: " + BootstrapStep}, nil
}

func (r *Refresher) readStored(ctx context.Context) (StoredToken, error) {
	b, err := r.Secrets.Get(ctx, r.TokenSecretID)
	if err != nil {
		return StoredToken{}, err
	}
	return ParseStoredToken(b)
}
