package acronis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ConsoleLogin is a console user at a data centre: the login and password
// the one-time bootstrap uses (HTTP Basic) and forgets.
type ConsoleLogin struct {
	BaseURL  string // the data centre, e.g. https://eu2-cloud.acronis.com
	Login    string
	Password string
}

// CreateAPIClient is the one-time bootstrap: as user it finds the user's
// tenant and creates an API client named clientName there. The returned
// secret is shown once by the platform; the caller must store it. The
// password is used for these two calls only.
func CreateAPIClient(ctx context.Context, hc *http.Client, user ConsoleLogin, clientName string) (Credentials, error) {
	baseURL, login, password := user.BaseURL, user.Login, user.Password
	if err := CheckBaseURL(baseURL); err != nil {
		return Credentials{}, fmt.Errorf("acronis: create API client: base URL: %w", err)
	}
	switch {
	case strings.TrimSpace(login) == "":
		return Credentials{}, fmt.Errorf("acronis: create API client: login is empty")
	case password == "":
		return Credentials{}, fmt.Errorf("acronis: create API client: password is empty")
	case strings.TrimSpace(clientName) == "":
		return Credentials{}, fmt.Errorf("acronis: create API client: client name is empty")
	}
	base := strings.TrimRight(baseURL, "/")
	basic := func(method, path string, in, out any) error {
		var body io.Reader
		if in != nil {
			b, _ := json.Marshal(in)
			body = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, body)
		if err != nil {
			return err
		}
		req.SetBasicAuth(login, password)
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, redactURLError(err))
		}
		if resp.StatusCode/100 != 2 {
			return readError(resp, method, path)
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(out)
	}
	var me struct {
		TenantID string `json:"tenant_id"`
	}
	if err := basic("GET", "/api/2/users/me", nil, &me); err != nil {
		return Credentials{}, fmt.Errorf("acronis: create API client: who am I: %w", err)
	}
	var created struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	in := map[string]any{"type": "api_client", "tenant_id": me.TenantID, "token_endpoint_auth_method": "client_secret_basic",
		"data": map[string]string{"client_name": clientName}}
	if err := basic("POST", "/api/2/clients", in, &created); err != nil {
		return Credentials{}, fmt.Errorf("acronis: create API client: %w", err)
	}
	if created.ClientID == "" || created.ClientSecret == "" {
		return Credentials{}, fmt.Errorf("acronis: create API client: answer lacks client_id or client_secret")
	}
	return Credentials{BaseURL: base, ClientID: created.ClientID, ClientSecret: created.ClientSecret}, nil
}
