// Package secrets reads and writes secrets: AWS Secrets Manager in Lambda,
// a local folder in the demo. Values are opaque bytes; callers parse them.
// The Secrets Manager adapter lives here, beside the Store it implements, as
// every AWS adapter does (notify's package comment says where the others
// are).
package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// ErrNotFound means the secret does not exist or has no value yet.
var ErrNotFound = errors.New("secret not found")

// Store gets and puts secret values by id (name or ARN).
type Store interface {
	Get(ctx context.Context, id string) ([]byte, error)
	Put(ctx context.Context, id string, value []byte) error
}

// SecretsManager is the AWS store.
type SecretsManager struct {
	Client *secretsmanager.Client
}

var _ Store = (*SecretsManager)(nil)

// Get reads the current value.
func (s *SecretsManager) Get(ctx context.Context, id string) ([]byte, error) {
	out, err := s.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("secrets: get %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("secrets: get %s: %w", id, err)
	}
	if out.SecretString != nil {
		return []byte(*out.SecretString), nil
	}
	if out.SecretBinary != nil {
		return out.SecretBinary, nil
	}
	return nil, fmt.Errorf("secrets: get %s: %w", id, ErrNotFound)
}

// Put stores a new current version. The secret must exist (the template
// creates it); PutSecretValue is atomic, so readers see the old value or the
// new one, never a mix.
func (s *SecretsManager) Put(ctx context.Context, id string, value []byte) error {
	_, err := s.Client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), SecretString: aws.String(string(value)),
	})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return fmt.Errorf("secrets: put %s: %w", id, ErrNotFound)
		}
		return fmt.Errorf("secrets: put %s: %w", id, err)
	}
	return nil
}

// Dir keeps each secret in a file under Root: the demo's stand-in for
// Secrets Manager. Writes go to a temporary file and are renamed into place.
type Dir struct {
	Root string
}

var _ Store = (*Dir)(nil)

func (d *Dir) path(id string) (string, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return "", fmt.Errorf("secrets: id %q: must be a plain name", id)
	}
	return filepath.Join(d.Root, id), nil
}

// Get reads a secret file.
func (d *Dir) Get(_ context.Context, id string) ([]byte, error) {
	p, err := d.path(id)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("secrets: get %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: get %s: %w", id, err)
	}
	return b, nil
}

// Put writes a secret file atomically, readable only by its owner.
func (d *Dir) Put(_ context.Context, id string, value []byte) error {
	p, err := d.path(id)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Root, 0o700); err != nil {
		return fmt.Errorf("secrets: put %s: %w", id, err)
	}
	f, err := os.CreateTemp(d.Root, ".tmp-*")
	if err != nil {
		return fmt.Errorf("secrets: put %s: %w", id, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(value); err != nil {
		f.Close()
		return fmt.Errorf("secrets: put %s: %w", id, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("secrets: put %s: %w", id, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("secrets: put %s: %w", id, err)
	}
	return nil
}

// CacheTTL is how long the functions keep a secret read across warm
// invocations: a rotated secret is seen within it, and Secrets Manager is
// not asked on every invocation.
const CacheTTL = 5 * time.Minute

// Cached keeps values in memory for TTL so warm Lambda invocations do not
// call Secrets Manager every time. Put and Forget keep the cache honest.
type Cached struct {
	Store Store
	TTL   time.Duration
	Now   func() time.Time

	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	v  []byte
	at time.Time
}

var _ Store = (*Cached)(nil)

func (c *Cached) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns a cached value younger than TTL, or reads through.
func (c *Cached) Get(ctx context.Context, id string) ([]byte, error) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && c.now().Sub(e.at) < c.TTL {
		return e.v, nil
	}
	v, err := c.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cached{}
	}
	c.m[id] = cached{v: v, at: c.now()}
	c.mu.Unlock()
	return v, nil
}

// Put writes through and caches the new value.
func (c *Cached) Put(ctx context.Context, id string, value []byte) error {
	if err := c.Store.Put(ctx, id, value); err != nil {
		c.Forget(id)
		return err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cached{}
	}
	c.m[id] = cached{v: value, at: c.now()}
	c.mu.Unlock()
	return nil
}

// Forget drops a cached value (after the API rejected what it held).
func (c *Cached) Forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
