package tokenrefresh

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
)

// RefreshFunc asks the token-refresh job for a new token (in Lambda: a
// synchronous invoke of the token-refresh function; locally: Refresher.Run).
type RefreshFunc func(ctx context.Context, req Request) error

// SecretSource is the token source of every function but token-refresh. It
// reads the token secret, and asks for a refresh when the token is missing,
// has under MinValidity left, or was rejected.
//
// The in-memory cache and the sharing of one refresh among concurrent callers
// are acronis.CachedSource's (the only token cache): the shared refresh runs
// detached from the first caller's cancellation, and each caller waits on its
// own context.
type SecretSource struct {
	Secrets       secrets.Store
	TokenSecretID string
	Refresh       RefreshFunc
	MinValidity   time.Duration // default 5 minutes
	// RefreshTimeout bounds one shared refresh (read, invoke, read again);
	// default acronis.DefaultRefreshTimeout.
	RefreshTimeout time.Duration
	Now            func() time.Time

	once  sync.Once
	cache *acronis.CachedSource

	mu       sync.Mutex
	baseURL  string // of the last token read
	rejected string // fingerprint of a token the API refused
}

var (
	_ acronis.TokenSource = (*SecretSource)(nil)
	_ acronis.Invalidator = (*SecretSource)(nil)
)

func (s *SecretSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *SecretSource) minValidity() time.Duration {
	if s.MinValidity > 0 {
		return s.MinValidity
	}
	return 5 * time.Minute
}

func (s *SecretSource) cached() *acronis.CachedSource {
	s.once.Do(func() {
		s.cache = acronis.NewCachedSource(secretReader{s}, s.minValidity())
		s.cache.SetClock(s.now)
		if s.RefreshTimeout > 0 {
			s.cache.SetRefreshTimeout(s.RefreshTimeout)
		}
	})
	return s.cache
}

func (s *SecretSource) usable(t StoredToken) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.Token().ValidFor(s.now(), s.minValidity()) && Fingerprint(t.AccessToken) != s.rejected
}

// Token returns a usable token, refreshing through the job when needed.
func (s *SecretSource) Token(ctx context.Context) (acronis.Token, error) {
	return s.cached().Token(ctx)
}

// Stored returns the usable stored token with its base URL.
func (s *SecretSource) Stored(ctx context.Context) (StoredToken, error) {
	t, err := s.Token(ctx)
	if err != nil {
		return StoredToken{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return StoredToken{AccessToken: t.AccessToken, ExpiresAt: t.ExpiresAt, BaseURL: s.baseURL}, nil
}

// secretReader is the uncached source behind the cache: it reads the secret
// and, when the token there is not usable, asks token-refresh and reads again.
// ctx is the shared refresh's, not any one caller's.
type secretReader struct{ s *SecretSource }

func (r secretReader) Token(ctx context.Context) (acronis.Token, error) {
	s := r.s
	t, err := s.read(ctx)
	if err == nil && s.usable(t) {
		return t.Token(), nil
	}
	if s.Refresh == nil {
		if err == nil {
			err = errors.New("token expired or rejected")
		}
		return acronis.Token{}, fmt.Errorf("token: %w (and no refresher is configured)", err)
	}
	s.mu.Lock()
	req := Request{Rejected: s.rejected}
	s.mu.Unlock()
	if err != nil {
		// Missing or unreadable: nothing to keep, so force a new one (and a
		// stack whose API client is not stored yet answers with the
		// bootstrap step instead of success).
		req.Force = true
	}
	if rerr := s.Refresh(ctx, req); rerr != nil {
		return acronis.Token{}, fmt.Errorf("token: ask token-refresh: %w", rerr)
	}
	s.forgetSecret()
	if t, err = s.read(ctx); err != nil {
		return acronis.Token{}, fmt.Errorf("token: after refresh: %w", err)
	}
	if !s.usable(t) {
		return acronis.Token{}, errors.New("token: token-refresh ran but the stored token is still expired or rejected")
	}
	return t.Token(), nil
}

func (s *SecretSource) read(ctx context.Context) (StoredToken, error) {
	b, err := s.Secrets.Get(ctx, s.TokenSecretID)
	if err != nil {
		return StoredToken{}, fmt.Errorf("token: read secret %s: %w", s.TokenSecretID, err)
	}
	t, err := ParseStoredToken(b)
	if err != nil {
		return StoredToken{}, err
	}
	s.mu.Lock()
	s.baseURL = t.BaseURL
	s.mu.Unlock()
	return t, nil
}

func (s *SecretSource) forgetSecret() {
	if c, ok := s.Secrets.(*secrets.Cached); ok {
		c.Forget(s.TokenSecretID)
	}
}

// Invalidate records that the API refused this token.
func (s *SecretSource) Invalidate(rejected acronis.Token) {
	s.mu.Lock()
	s.rejected = Fingerprint(rejected.AccessToken)
	s.mu.Unlock()
	s.forgetSecret()
	s.cached().Invalidate(rejected) // drops it from the cache only
}

// Client builds an Acronis client for the data centre named in the stored
// token, with this source as its token source.
func (s *SecretSource) Client(ctx context.Context, hc *http.Client) (*acronis.Client, error) {
	t, err := s.Stored(ctx)
	if err != nil {
		return nil, err
	}
	return acronis.NewClient(t.BaseURL, s, hc)
}
