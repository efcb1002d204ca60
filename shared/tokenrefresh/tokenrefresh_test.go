package tokenrefresh_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var fast = acronis.HTTPOptions{Retry: httpretry.Policy{MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}

type env struct {
	sim           *acronistest.Server
	store         secrets.Store
	clientID      string
	secret        string
	clientSecret  string // secret id
	tokenSecret   string // secret id
	logs          *bytes.Buffer
	refresher     *tokenrefresh.Refresher
	secretsValues []string // values that must never leak
}

// setup creates both secrets in moto (the token one empty, as the template does).
func setup(t *testing.T, cfg acronistest.Config, clientValue func(e *env) string) *env {
	t.Helper()
	ctx := context.Background()
	moto := mototest.Get(t)
	sm := awsenv.SecretsManager(moto.Config())
	e := &env{sim: acronistest.NewServer(t, cfg), logs: &bytes.Buffer{}}
	e.clientID, e.secret = e.sim.AddAPIClient("")
	e.clientSecret, e.tokenSecret = mototest.Name("acronis-client"), mototest.Name("acronis-token")
	value := fmt.Sprintf(`{"base_url":%q,"client_id":%q,"client_secret":%q}`, e.sim.URL(), e.clientID, e.secret)
	if clientValue != nil {
		value = clientValue(e)
	}
	if value != "" {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(e.clientSecret), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(e.tokenSecret)}); err != nil {
		t.Fatal(err)
	}
	e.store = &secrets.SecretsManager{Client: sm}
	e.refresher = &tokenrefresh.Refresher{
		Secrets: e.store, ClientSecretID: e.clientSecret, TokenSecretID: e.tokenSecret,
		HTTP: acronis.NewHTTPClient(fast), Log: slog.New(slog.NewJSONHandler(e.logs, nil)),
	}
	e.secretsValues = []string{e.secret}
	return e
}

func (e *env) stored(t *testing.T) (tokenrefresh.StoredToken, error) {
	t.Helper()
	b, err := e.store.Get(context.Background(), e.tokenSecret)
	if err != nil {
		return tokenrefresh.StoredToken{}, err
	}
	return tokenrefresh.ParseStoredToken(b)
}

// assertNoLeak fails if a secret or an access token shows in the logs, the
// error or the result.
func (e *env) assertNoLeak(t *testing.T, res tokenrefresh.Result, err error) {
	t.Helper()
	if st, serr := e.stored(t); serr == nil {
		e.secretsValues = append(e.secretsValues, st.AccessToken)
	}
	resJSON, _ := json.Marshal(res)
	hay := e.logs.String() + "\n" + string(resJSON) + "\n" + fmt.Sprint(err)
	for _, s := range e.secretsValues {
		if s != "" && strings.Contains(hay, s) {
			t.Fatalf("a secret value leaked into logs, result or error:\n%s", hay)
		}
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		cfg         acronistest.Config
		clientValue func(e *env) string
		prepare     func(t *testing.T, e *env) // before the run under test
		req         func(t *testing.T, e *env) tokenrefresh.Request
		wantRefresh bool
		wantErr     string
		wantMints   int
	}{
		{name: "first run mints", wantRefresh: true, wantMints: 1},
		{name: "fresh token left alone", prepare: runOnce, wantRefresh: false, wantMints: 1},
		{name: "force mints again", prepare: runOnce, req: func(*testing.T, *env) tokenrefresh.Request { return tokenrefresh.Request{Force: true} }, wantRefresh: true, wantMints: 2},
		{name: "short-lived token refreshed", cfg: acronistest.Config{TokenTTL: 50 * time.Minute}, prepare: runOnce, wantRefresh: true, wantMints: 2},
		{name: "rejected token refreshed", prepare: runOnce, req: func(t *testing.T, e *env) tokenrefresh.Request {
			st, _ := e.stored(t)
			return tokenrefresh.Request{Rejected: tokenrefresh.Fingerprint(st.AccessToken)}
		}, wantRefresh: true, wantMints: 2},
		{name: "other rejected token ignored", prepare: runOnce, req: func(*testing.T, *env) tokenrefresh.Request {
			return tokenrefresh.Request{Rejected: tokenrefresh.Fingerprint("an older token")}
		}, wantRefresh: false, wantMints: 1},
		{name: "garbage in token secret replaced", prepare: func(t *testing.T, e *env) {
			_ = e.store.Put(ctx, e.tokenSecret, []byte("{not json"))
		}, wantRefresh: true, wantMints: 1},
		{name: "token endpoint 429 and 503 retried", cfg: acronistest.Config{Seed: 3, Faults: acronistest.Faults{Rate429: 0.4, Rate5xx: 0.4}}, wantRefresh: true},
		{name: "client secret missing", clientValue: func(*env) string { return "" }, wantErr: "read API client secret"},
		{name: "client secret malformed", clientValue: func(e *env) string { return `{"client_id":"x","client_secret":"` + e.secret + `"}` }, wantErr: `field "base_url": missing`},
		{name: "client secret not JSON", clientValue: func(e *env) string { return e.secret }, wantErr: "invalid JSON"},
		{name: "bad credentials", clientValue: func(e *env) string {
			return fmt.Sprintf(`{"base_url":%q,"client_id":%q,"client_secret":"wrong-%s"}`, e.sim.URL(), e.clientID, e.secret)
		}, wantErr: "401 access_denied", wantMints: 1},
		{name: "data centre unreachable", clientValue: func(e *env) string {
			return fmt.Sprintf(`{"base_url":"http://127.0.0.1:1","client_id":%q,"client_secret":%q}`, e.clientID, e.secret)
		}, wantErr: "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, tt.cfg, tt.clientValue)
			if tt.prepare != nil {
				tt.prepare(t, e)
			}
			before, beforeErr := e.stored(t)
			var req tokenrefresh.Request
			if tt.req != nil {
				req = tt.req(t, e)
			}
			res, err := e.refresher.Run(ctx, req)
			e.assertNoLeak(t, res, err)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				after, afterErr := e.stored(t)
				if after != before || !errors.Is(afterErr, secrets.ErrNotFound) && fmt.Sprint(afterErr) != fmt.Sprint(beforeErr) {
					t.Fatal("a failed run changed the token secret")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if res.Refreshed != tt.wantRefresh {
					t.Fatalf("refreshed=%v (%s), want %v", res.Refreshed, res.Reason, tt.wantRefresh)
				}
				st, err := e.stored(t)
				if err != nil {
					t.Fatalf("token secret after run: %v", err)
				}
				if tt.wantRefresh && st == before {
					t.Fatal("refresh reported but secret unchanged")
				}
				if st.BaseURL != e.sim.URL() || !st.ExpiresAt.Equal(res.ExpiresAt) || tokenrefresh.Fingerprint(st.AccessToken) != res.Fingerprint {
					t.Fatalf("stored %+v does not match result %+v", st.ExpiresAt, res)
				}
			}
			if tt.wantMints > 0 {
				ok := 0
				for _, r := range e.sim.Requests() {
					if r.Path == acronis.TokenPath && r.Status == 200 {
						ok++
					}
				}
				if ok != tt.wantMints && !strings.Contains(tt.wantErr, "401") {
					t.Fatalf("%d tokens minted, want %d", ok, tt.wantMints)
				}
			}
		})
	}
}

func runOnce(t *testing.T, e *env) {
	t.Helper()
	if _, err := e.refresher.Run(context.Background(), tokenrefresh.Request{}); err != nil {
		t.Fatal(err)
	}
}

func TestMissingConfiguration(t *testing.T) {
	r := &tokenrefresh.Refresher{Secrets: &secrets.Dir{Root: t.TempDir()}}
	if _, err := r.Run(context.Background(), tokenrefresh.Request{}); err == nil || !strings.Contains(err.Error(), "ACRONIS_CLIENT_SECRET_ID") {
		t.Fatalf("err %v", err)
	}
}

// SecretSource: other functions read the stored token and, when it is missing,
// expiring or rejected, ask token-refresh once, however many callers there are.
func TestSecretSource(t *testing.T) {
	ctx := context.Background()
	e := setup(t, acronistest.Config{}, nil)
	var mu sync.Mutex
	refreshes := 0
	src := &tokenrefresh.SecretSource{
		Secrets: e.store, TokenSecretID: e.tokenSecret,
		Refresh: func(ctx context.Context, req tokenrefresh.Request) error {
			mu.Lock()
			refreshes++
			mu.Unlock()
			_, err := e.refresher.Run(ctx, req)
			return err
		},
	}
	c, err := src.Client(ctx, acronis.NewHTTPClient(fast))
	if err != nil {
		t.Fatal(err)
	}
	// 50 concurrent calls with no token stored yet: one refresh.
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.GetTenant(ctx, e.sim.RootTenantID())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if refreshes != 1 {
		t.Fatalf("%d refreshes for 50 callers, want 1", refreshes)
	}
	// The server stops accepting the token: one refresh, the call succeeds.
	e.sim.ExpireTokens()
	if _, err := c.GetTenant(ctx, e.sim.RootTenantID()); err != nil {
		t.Fatal(err)
	}
	if refreshes != 2 {
		t.Fatalf("%d refreshes after a rejected token, want 2", refreshes)
	}
	// No refresher: a clear error.
	bare := &tokenrefresh.SecretSource{Secrets: &secrets.Dir{Root: t.TempDir()}, TokenSecretID: "tok"}
	if _, err := bare.Token(ctx); err == nil || !strings.Contains(err.Error(), "no refresher") {
		t.Fatalf("err %v", err)
	}
}

func FuzzParseStoredToken(f *testing.F) {
	f.Add([]byte(`{"access_token":"SECRETTOKEN","expires_at":"2026-11-22T10:00:00Z","base_url":"https://eu2-cloud.acronis.com"}`))
	f.Add([]byte(`{"access_token":"SECRETTOKEN","expires_at":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := tokenrefresh.ParseStoredToken(b)
		if err != nil && strings.Contains(err.Error(), "SECRETTOKEN") {
			t.Fatalf("error leaks the token: %v", err)
		}
		if err == nil && (st.AccessToken == "" || st.ExpiresAt.IsZero()) {
			t.Fatalf("accepted %q", b)
		}
	})
}

// One caller giving up must not fail the others waiting on the same refresh:
// the refresh runs under its own bounded context, each caller waits on its own.
func TestSecretSourceRefreshOutlivesCancelledCaller(t *testing.T) {
	store := &secrets.Dir{Root: t.TempDir()}
	started, release := make(chan struct{}), make(chan struct{})
	var refreshes atomic.Int32
	src := &tokenrefresh.SecretSource{
		Secrets: store, TokenSecretID: "tok",
		Refresh: func(ctx context.Context, _ tokenrefresh.Request) error {
			if refreshes.Add(1) == 1 {
				close(started)
			}
			select {
			case <-release:
			case <-ctx.Done(): // what a Lambda invoke does when its context ends
				return ctx.Err()
			}
			v := fmt.Sprintf(`{"access_token":"fresh","expires_at":%q,"base_url":"https://eu2-cloud.acronis.com"}`,
				time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
			return store.Put(ctx, "tok", []byte(v))
		},
	}
	first, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() { _, err := src.Token(first); firstErr <- err }()
	<-started
	second := make(chan error, 1)
	var got acronis.Token
	go func() {
		var err error
		got, err = src.Token(context.Background())
		second <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the second caller join the refresh
	cancel()
	select {
	case err := <-firstErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("first caller: err %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled caller still waits for the shared refresh")
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatalf("second caller: %v", err)
	}
	if got.AccessToken != "fresh" || refreshes.Load() != 1 {
		t.Fatalf("token %v, %d refreshes; want the fresh token and 1 refresh", got, refreshes.Load())
	}
}
