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
	"golang.org/x/sync/singleflight"
)

// RefreshFunc asks the token-refresh job for a new token (in Lambda: a
// synchronous invoke of the token-refresh function; locally: Refresher.Run).
type RefreshFunc func(ctx context.Context, req Request) error

// SecretSource is the token source of every function but token-refresh. It
// reads the token secret, and asks for a refresh when the token is missing,
// has under MinValidity left, or was rejected.
type SecretSource struct {
	Secrets       secrets.Store
	TokenSecretID string
	Refresh       RefreshFunc
	MinValidity   time.Duration // default 5 minutes
	Now           func() time.Time

	mu       sync.Mutex
	tok      StoredToken
	rejected string // fingerprint of a token the API refused
	group    singleflight.Group
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

func (s *SecretSource) usable(t StoredToken) bool {
	return t.Token().ValidFor(s.now(), s.minValidity()) && Fingerprint(t.AccessToken) != s.rejected
}

// Token returns a usable token, refreshing through the job when needed.
func (s *SecretSource) Token(ctx context.Context) (acronis.Token, error) {
	t, err := s.Stored(ctx)
	if err != nil {
		return acronis.Token{}, err
	}
	return t.Token(), nil
}

// Stored returns the usable stored token with its base URL.
func (s *SecretSource) Stored(ctx context.Context) (StoredToken, error) {
	s.mu.Lock()
	t, rejected := s.tok, s.rejected
	ok := t.AccessToken != "" && s.usable(t)
	s.mu.Unlock()
	if ok {
		return t, nil
	}
	v, err, _ := s.group.Do("token", func() (any, error) {
		t, err := s.read(ctx)
		if err == nil && s.usableLocked(t) {
			return t, nil
		}
		if s.Refresh == nil {
			if err == nil {
				err = errors.New("token expired or rejected")
			}
			return StoredToken{}, fmt.Errorf("token: %w (and no refresher is configured)", err)
		}
		req := Request{}
		if rejected != "" {
			req.Rejected = rejected
		}
		if err != nil && !errors.Is(err, secrets.ErrNotFound) {
			req.Force = true // the stored value is unreadable: replace it
		}
		if rerr := s.Refresh(ctx, req); rerr != nil {
			return StoredToken{}, fmt.Errorf("token: ask token-refresh: %w", rerr)
		}
		if c, ok := s.Secrets.(*secrets.Cached); ok {
			c.Forget(s.TokenSecretID)
		}
		t, err = s.read(ctx)
		if err != nil {
			return StoredToken{}, fmt.Errorf("token: after refresh: %w", err)
		}
		if !s.usableLocked(t) {
			return StoredToken{}, errors.New("token: token-refresh ran but the stored token is still expired or rejected")
		}
		return t, nil
	})
	if err != nil {
		return StoredToken{}, err
	}
	return v.(StoredToken), nil
}

func (s *SecretSource) usableLocked(t StoredToken) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usable(t)
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
	s.tok = t
	s.mu.Unlock()
	return t, nil
}

// Invalidate records that the API refused this token.
func (s *SecretSource) Invalidate(rejected acronis.Token) {
	s.mu.Lock()
	s.rejected = Fingerprint(rejected.AccessToken)
	if s.tok.AccessToken == rejected.AccessToken {
		s.tok = StoredToken{}
	}
	s.mu.Unlock()
	if c, ok := s.Secrets.(*secrets.Cached); ok {
		c.Forget(s.TokenSecretID)
	}
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
