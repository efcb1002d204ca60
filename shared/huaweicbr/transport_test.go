package huaweicbr_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
)

// credentialSeer records whether any request reached it with a credential.
type credentialSeer struct {
	mu       sync.Mutex
	requests int
	leaked   []string
}

func (c *credentialSeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	for _, h := range []string{"X-Auth-Token", "Authorization"} {
		if r.Header.Get(h) != "" {
			c.leaked = append(c.leaked, h)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"policies":[]}`))
}

func redirector(to string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to+r.URL.RequestURI(), http.StatusFound)
	})
}

// No credential follows a redirect to another host, port or scheme.
func TestNoCredentialAcrossRedirect(t *testing.T) {
	seer := &credentialSeer{}
	other := httptest.NewServer(seer)
	t.Cleanup(other.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(other.URL, "http://"))
	plain := httptest.NewServer(redirector(other.URL))
	t.Cleanup(plain.Close)
	toLocalhost := httptest.NewServer(redirector("http://localhost:" + port))
	t.Cleanup(toLocalhost.Close)
	tlsSrv := httptest.NewTLSServer(redirector(other.URL))
	t.Cleanup(tlsSrv.Close)

	tests := []struct {
		name, endpoint string
		token          bool
	}{
		{"other port, token", plain.URL, true},
		{"other port, AK/SK", plain.URL, false},
		{"other host, token", toLocalhost.URL, true},
		{"other host, AK/SK", toLocalhost.URL, false},
		{"https to http, token", tlsSrv.URL, true},
		{"https to http, AK/SK", tlsSrv.URL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := huaweicbr.Credentials{ProjectID: "p1", Endpoint: tt.endpoint, AccessKey: "AKREDIRECT", SecretKey: "SKREDIRECT"}
			if tt.token {
				creds = huaweicbr.Credentials{ProjectID: "p1", Endpoint: tt.endpoint, AuthToken: "TOKREDIRECT"}
			}
			tr := huaweicbr.NewTransport(huaweicbr.Timeouts{})
			tr.TLSClientConfig = &tls.Config{RootCAs: tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
			_, err := huaweicbr.New(creds, huaweicbr.NewHTTPClient(tr, huaweicbr.Timeouts{})).ListPolicies(context.Background(), "")
			seer.mu.Lock()
			leaked := seer.leaked
			seer.leaked = nil
			seer.mu.Unlock()
			if len(leaked) > 0 {
				t.Fatalf("the other server saw %v (err %v)", leaked, err)
			}
			if err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("err %v, want the redirect refused", err)
			}
		})
	}
}

// hang answers nothing until the test ends (or writes headers, then stalls).
func hang(t *testing.T, headersFirst bool) *httptest.Server {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headersFirst {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"policies":[`))
			w.(http.Flusher).Flush()
		}
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

// silentTLS accepts TCP connections and never says a word: the TLS
// handshake, part of connecting, never ends.
func silentTLS(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "https://" + l.Addr().String()
}

func TestTimeouts(t *testing.T) {
	const short = 150 * time.Millisecond
	tests := []struct {
		name     string
		endpoint string
		timeouts huaweicbr.Timeouts
	}{
		{"connect (TLS handshake)", silentTLS(t), huaweicbr.Timeouts{Connect: short}},
		{"response header", hang(t, false).URL, huaweicbr.Timeouts{ResponseHeader: short}},
		{"total (body stalls)", hang(t, true).URL, huaweicbr.Timeouts{Total: short}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := huaweicbr.Credentials{ProjectID: "p1", Endpoint: tt.endpoint, AuthToken: "TOK"}
			start := time.Now()
			_, err := huaweicbr.New(creds, huaweicbr.NewHTTPClient(nil, tt.timeouts)).ListPolicies(context.Background(), "")
			took := time.Since(start)
			var ne net.Error
			if err == nil || !(errors.As(err, &ne) && ne.Timeout() || strings.Contains(err.Error(), "timeout")) {
				t.Fatalf("err %v, want a timeout", err)
			}
			if took > 5*time.Second {
				t.Fatalf("took %v: the timeout did not bound the call", took)
			}
		})
	}
}
