package acronistest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TokenResponse asks the simulator's token endpoint for a token and returns
// the raw answer.
func TokenResponse(t testing.TB, s *Server, clientID, secret string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/api/2/idp/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// MintToken returns a valid access token for raw-request tests.
func MintToken(t testing.TB, s *Server, clientID, secret string) string {
	t.Helper()
	st, b := TokenResponse(t, s, clientID, secret)
	var r struct {
		AccessToken string `json:"access_token"`
	}
	if st != 200 || json.Unmarshal(b, &r) != nil || r.AccessToken == "" {
		t.Fatalf("token: %d %s", st, b)
	}
	return r.AccessToken
}
