package acronis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
)

// RootTenant says where a walk over the tenant tree starts. Every job that
// walks the tree (usage snapshots, audits, reports) resolves it the same
// way, so a deployment configures it once and a caller can override it.
type RootTenant struct {
	// ID is the deployment's root (ROOT_TENANT_ID, REPORT_TENANT_ID); "" for none.
	ID string
	// Owner finds the API client's own tenant when neither the request nor
	// ID name one; nil leaves nothing to fall back on.
	Owner func(ctx context.Context) (string, error)
}

// Resolve returns the requested tenant, else ID, else Owner's answer; the
// result is always a UUID.
func (r RootTenant) Resolve(ctx context.Context, requested string) (string, error) {
	id := cmp.Or(requested, r.ID)
	if id == "" {
		if r.Owner == nil {
			return "", errors.New("root tenant: none requested, none configured, and no token to read owner_tuid from")
		}
		var err error
		if id, err = r.Owner(ctx); err != nil {
			return "", fmt.Errorf("root tenant: find the API client's tenant: %w", err)
		}
	}
	if err := CheckUUID(id); err != nil {
		return "", fmt.Errorf("root tenant: %w", err)
	}
	return id, nil
}

// TokenOwner is a RootTenant.Owner that reads the owner_tuid claim of the
// source's current token.
func TokenOwner(src TokenSource) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		tok, err := src.Token(ctx)
		if err != nil {
			return "", err
		}
		return TokenOwnerTenant(tok.AccessToken)
	}
}
