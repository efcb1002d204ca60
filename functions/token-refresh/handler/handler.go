// Package handler builds the token-refresh Lambda handler from its environment, so
// main stays one line and tests (the end-to-end one too) run the deployed wiring.
package handler

import (
	"context"
	"log/slog"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Build wires the handler from the environment (tests call it with moto).
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, tokenrefresh.Request) (tokenrefresh.Result, error), error) {
	env, err := lambdafn.Env(getenv, "ACRONIS_CLIENT_SECRET_ID", "ACRONIS_TOKEN_SECRET_ID")
	if err != nil {
		return nil, err
	}
	r := &tokenrefresh.Refresher{
		Secrets:        &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)},
		ClientSecretID: env["ACRONIS_CLIENT_SECRET_ID"],
		TokenSecretID:  env["ACRONIS_TOKEN_SECRET_ID"],
		HTTP:           acronis.NewHTTPClient(acronis.HTTPOptions{}),
		Log:            log,
	}
	return r.Run, nil
}
