// Command token-refresh is the Lambda that trades the API client's id and
// secret for an access token and keeps it in Secrets Manager.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
	"github.com/aws/aws-sdk-go-v2/aws"
)

func main() {
	lambdafn.Start("token-refresh", func(ctx context.Context, log *slog.Logger) (func(context.Context, tokenrefresh.Request) (tokenrefresh.Result, error), error) {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		return build(cfg, os.Getenv, log)
	})
}

// build wires the handler from the environment (tests call it with moto).
func build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, tokenrefresh.Request) (tokenrefresh.Result, error), error) {
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
