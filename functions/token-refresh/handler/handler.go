// Package handler builds the token-refresh Lambda handler from its typed
// configuration, so main stays one line and tests (the end-to-end one too)
// run the deployed wiring.
package handler

import (
	"context"
	"log/slog"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/envconfig"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Config is token-refresh's environment.
type Config struct {
	ClientSecretID string // ACRONIS_CLIENT_SECRET_ID: the API client (only this function reads it)
	TokenSecretID  string // ACRONIS_TOKEN_SECRET_ID: where the token is kept for the others
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := envconfig.New(getenv)
	c := Config{ClientSecretID: env.Required("ACRONIS_CLIENT_SECRET_ID"), TokenSecretID: env.Required("ACRONIS_TOKEN_SECRET_ID")}
	return c, env.Err()
}

// Build wires the handler (tests call it with moto).
func Build(cfg aws.Config, conf Config, log *slog.Logger) func(context.Context, tokenrefresh.Request) (tokenrefresh.Result, error) {
	r := &tokenrefresh.Refresher{
		Secrets:        &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)},
		ClientSecretID: conf.ClientSecretID,
		TokenSecretID:  conf.TokenSecretID,
		HTTP:           acronis.NewHTTPClient(acronis.HTTPOptions{}),
		Log:            log,
	}
	return r.Run
}
