package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// The template, translated once per test binary (about a second of Python).
var translated = sync.OnceValues(func() (*mototest.Translated, error) { return mototest.Translate(context.Background()) })

func functionArn(name string) string {
	return "arn:aws:lambda:us-east-1:" + mototest.Account + ":function:" + name
}

// roleSet remembers the roles a pass created, by access key, so the front
// can authorize the Lambda invokes it answers itself.
type roleSet struct {
	mu    sync.Mutex
	byKey map[string]*mototest.Role
}

// config is admin's configuration with the credentials of function fn's
// template role.
func (rs *roleSet) config(t *testing.T, admin aws.Config, fn string, names mototest.Names) aws.Config {
	t.Helper()
	tr, err := translated()
	if err != nil {
		t.Fatal(err)
	}
	return rs.configFrom(t, tr, admin, fn, names)
}

func (rs *roleSet) configFrom(t *testing.T, tr *mototest.Translated, admin aws.Config, fn string, names mototest.Names) aws.Config {
	t.Helper()
	cfg, role, err := mototest.Get(t).FunctionRole(context.Background(), tr, fn, names)
	if err != nil {
		t.Fatal(err)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.byKey == nil {
		rs.byKey = map[string]*mototest.Role{}
	}
	rs.byKey[role.Credentials.AccessKeyID] = role
	cfg.BaseEndpoint = admin.BaseEndpoint
	return cfg
}

// allows finds the caller by the access key in a SigV4 Authorization header.
func (rs *roleSet) allows(authorization, action, resource string) bool {
	_, cred, ok := strings.Cut(authorization, "Credential=")
	if !ok {
		return false
	}
	key, _, _ := strings.Cut(cred, "/")
	rs.mu.Lock()
	role := rs.byKey[key]
	rs.mu.Unlock()
	return role != nil && role.Allows(action, resource)
}
