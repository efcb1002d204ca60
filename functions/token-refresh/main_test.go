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

func TestMain(m *testing.M) { mototest.Main(m) }

// The deployed wiring, invoked the way Lambda does, over the sample events.
func TestHandlerOverEvents(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	sim := acronistest.NewServer(t, acronistest.Config{})
	id, secret := sim.AddAPIClient("")
	sm := awsenv.SecretsManager(moto.Config())
	clientID, tokenID := mototest.Name("client"), mototest.Name("token")
	value := fmt.Sprintf(`{"base_url":%q,"client_id":%q,"client_secret":%q}`, sim.URL(), id, secret)
	for name, v := range map[string]string{clientID: value, tokenID: "{}"} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	env := map[string]string{"ACRONIS_CLIENT_SECRET_ID": clientID, "ACRONIS_TOKEN_SECRET_ID": tokenID}
	h, err := handler.Build(moto.Config(), func(k string) string { return env[k] }, lambdafn.Logger(&logs))
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
	_, err := handler.Build(aws.Config{}, func(string) string { return "" }, lambdafn.Logger(&bytes.Buffer{}))
	if err == nil || !strings.Contains(err.Error(), "ACRONIS_CLIENT_SECRET_ID, ACRONIS_TOKEN_SECRET_ID") {
		t.Fatalf("err %v", err)
	}
}
