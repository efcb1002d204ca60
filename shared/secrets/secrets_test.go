package secrets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func TestStores(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	sm := awsenv.SecretsManager(moto.Config())
	name := mototest.Name("token")
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	stores := map[string]struct {
		s  secrets.Store
		id string
	}{
		"secretsmanager": {&secrets.SecretsManager{Client: sm}, name},
		"dir":            {&secrets.Dir{Root: t.TempDir()}, "token"},
	}
	for n, tc := range stores {
		t.Run(n, func(t *testing.T) {
			if _, err := tc.s.Get(ctx, tc.id); !errors.Is(err, secrets.ErrNotFound) {
				t.Fatalf("empty secret: %v, want ErrNotFound", err)
			}
			for _, v := range []string{`{"v":1}`, `{"v":2}`} {
				if err := tc.s.Put(ctx, tc.id, []byte(v)); err != nil {
					t.Fatal(err)
				}
				got, err := tc.s.Get(ctx, tc.id)
				if err != nil || string(got) != v {
					t.Fatalf("got %q, %v; want %q", got, err, v)
				}
			}
			if _, err := tc.s.Get(ctx, "missing-"+tc.id); !errors.Is(err, secrets.ErrNotFound) {
				t.Fatalf("missing secret: %v", err)
			}
		})
	}
}

type countingStore struct {
	secrets.Store
	gets int
}

func (c *countingStore) Get(ctx context.Context, id string) ([]byte, error) {
	c.gets++
	return c.Store.Get(ctx, id)
}

func TestCached(t *testing.T) {
	ctx := context.Background()
	inner := &countingStore{Store: &secrets.Dir{Root: t.TempDir()}}
	_ = inner.Put(ctx, "s", []byte("a"))
	now := time.Unix(0, 0)
	c := &secrets.Cached{Store: inner, TTL: time.Minute, Now: func() time.Time { return now }}
	steps := []struct {
		advance  time.Duration
		forget   bool
		wantGets int
	}{
		{0, false, 1},
		{30 * time.Second, false, 1},
		{31 * time.Second, false, 2},
		{0, true, 3},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if s.forget {
			c.Forget("s")
		}
		if v, err := c.Get(ctx, "s"); err != nil || string(v) != "a" {
			t.Fatalf("step %d: %q %v", i, v, err)
		}
		if inner.gets != s.wantGets {
			t.Fatalf("step %d: %d reads, want %d", i, inner.gets, s.wantGets)
		}
	}
}
