package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/functions/token-refresh/handler"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// IAM enforced: the handler runs with the credentials of the role SAM
// generates for TokenRefreshFunction.
func TestMain(m *testing.M) { mototest.MainIAM(m) }

// secretsFor creates the two secrets with the admin's credentials and
// returns the role configuration for token-refresh and the secrets' names.
func secretsFor(t *testing.T, clientValue, tokenValue string) (aws.Config, string, string) {
	t.Helper()
	ctx := context.Background()
	sm := awsenv.SecretsManager(mototest.Get(t).Config())
	clientID, tokenID := mototest.Name("client"), mototest.Name("token")
	names := mototest.Names{"AsyncFailureQueue.Arn": mototest.QueueARN(mototest.Name("async"))}
	for logical, s := range map[string][2]string{"AcronisClientSecret": {clientID, clientValue}, "AcronisTokenSecret": {tokenID, tokenValue}} {
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(s[0]), SecretString: aws.String(s[1])})
		if err != nil {
			t.Fatal(err)
		}
		names[logical] = aws.ToString(out.ARN)
	}
	return mototest.RoleConfig(t, "TokenRefreshFunction", names), clientID, tokenID
}

// The deployed wiring, invoked the way Lambda does, over the sample events.
func TestHandlerOverEvents(t *testing.T) {
	ctx := context.Background()
	sim := acronistest.NewServer(t, acronistest.Config{})
	id, secret := sim.AddAPIClient("")
	sm := awsenv.SecretsManager(mototest.Get(t).Config())
	value := fmt.Sprintf(`{"base_url":%q,"client_id":%q,"client_secret":%q}`, sim.URL(), id, secret)
	cfg, clientID, tokenID := secretsFor(t, value, "{}")
	var logs bytes.Buffer
	env := map[string]string{"ACRONIS_CLIENT_SECRET_ID": clientID, "ACRONIS_TOKEN_SECRET_ID": tokenID}
	h, err := lambdafn.FromEnv(cfg, func(k string) string { return env[k] }, handler.LoadConfig, handler.Build, lambdafn.Logger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	handler := lambda.NewHandler(lambdafn.Handle(lambdafn.Logger(&logs), "token-refresh", h))
	lctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "test"})
	tests := []struct {
		event         string
		wantRefreshed bool
		wantMints     int
	}{
		{"token-refresh.json", true, 1},       // nothing stored yet ("{}")
		{"token-refresh.json", false, 1},      // fresh: left alone
		{"token-refresh-force.json", true, 2}, // forced
	}
	for _, tt := range tests {
		payload, err := os.ReadFile("../../events/" + tt.event)
		if err != nil {
			t.Fatal(err)
		}
		out, err := handler.Invoke(lctx, payload)
		if err != nil {
			t.Fatalf("%s: %v", tt.event, err)
		}
		var res struct {
			Refreshed bool `json:"refreshed"`
		}
		if err := json.Unmarshal(out, &res); err != nil || res.Refreshed != tt.wantRefreshed {
			t.Fatalf("%s: %s (%v), want refreshed=%v", tt.event, out, err, tt.wantRefreshed)
		}
		if n := sim.CountRequests("POST", "/api/2/idp/token"); n != tt.wantMints {
			t.Fatalf("%s: %d token requests, want %d", tt.event, n, tt.wantMints)
		}
	}
	stored, _ := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(tokenID)})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(aws.ToString(stored.SecretString)), &tok)
	if tok.AccessToken == "" || strings.Contains(logs.String(), tok.AccessToken) || strings.Contains(logs.String(), secret) {
		t.Fatalf("token missing from the secret, or a secret in the logs:\n%s", logs.String())
	}
}

func TestBuildNamesMissingVariables(t *testing.T) {
	_, err := lambdafn.FromEnv(aws.Config{}, func(string) string { return "" }, handler.LoadConfig, handler.Build, lambdafn.Logger(&bytes.Buffer{}))
	if err == nil || !strings.Contains(err.Error(), "ACRONIS_CLIENT_SECRET_ID, ACRONIS_TOKEN_SECRET_ID") {
		t.Fatalf("err %v", err)
	}
}

// A fresh stack: the client secret holds the template's placeholder until
// the bootstrap step has run. The scheduled run says so in one WARN line and
// succeeds (the errors alarm stays quiet); a forced run, which wants a token,
// fails naming the bootstrap step; a half-filled secret is a real fault.
func TestFreshStackDoesNotPage(t *testing.T) {
	placeholder, ok := mototest.Template(t).Resources["AcronisClientSecret"].Properties["SecretString"].(string)
	if !ok || placeholder == "" {
		t.Fatal("template.yaml: AcronisClientSecret has no literal SecretString placeholder")
	}
	schedule, err := os.ReadFile("../../events/token-refresh.json")
	if err != nil {
		t.Fatal(err)
	}
	forced, err := os.ReadFile("../../events/token-refresh-force.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, client string
		event        []byte
		wantStatus   string
		wantErr      string
		wantWarns    int
	}{
		{"template placeholder, schedule", placeholder, schedule, "not_configured", "", 1},
		{"empty object, schedule", "{}", schedule, "not_configured", "", 1},
		{"template placeholder, forced", placeholder, forced, "", "scripts/bootstrap-api-client", 0},
		{"base_url only", `{"base_url":"https://eu2-cloud.acronis.com","client_id":"","client_secret":""}`, schedule, "", `field "client_id": missing`, 0},
		{"not JSON", "placeholder", schedule, "", "invalid", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cfg, clientID, tokenID := secretsFor(t, tt.client, "{}")
			var logs bytes.Buffer
			env := map[string]string{"ACRONIS_CLIENT_SECRET_ID": clientID, "ACRONIS_TOKEN_SECRET_ID": tokenID}
			h, err := lambdafn.FromEnv(cfg, func(k string) string { return env[k] }, handler.LoadConfig, handler.Build, lambdafn.Logger(&logs))
			if err != nil {
				t.Fatal(err)
			}
			inv := lambda.NewHandler(lambdafn.Handle(lambdafn.Logger(&logs), "token-refresh", h))
			out, err := inv.Invoke(lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "test"}), tt.event)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
			} else {
				var res struct {
					Status string `json:"status"`
				}
				if err != nil || json.Unmarshal(out, &res) != nil || res.Status != tt.wantStatus {
					t.Fatalf("%s (%v), want status %q", out, err, tt.wantStatus)
				}
			}
			if n := strings.Count(logs.String(), `"level":"WARN"`); n != tt.wantWarns {
				t.Fatalf("%d WARN lines, want %d:\n%s", n, tt.wantWarns, logs.String())
			}
			if tt.wantWarns > 0 && !strings.Contains(logs.String(), "scripts/bootstrap-api-client") {
				t.Fatalf("the WARN line does not name the bootstrap step:\n%s", logs.String())
			}
			stored, err := awsenv.SecretsManager(mototest.Get(t).Config()).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(tokenID)})
			if err != nil || aws.ToString(stored.SecretString) != "{}" {
				t.Fatalf("token secret changed: %v", err)
			}
		})
	}
}
