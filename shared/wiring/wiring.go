// Package wiring builds, from the environment, the dependencies that the
// Acronis-calling functions share. It is separate from lambdafn so that a
// function links only the AWS clients it uses.
package wiring

import (
	"time"

	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// AcronisTokens is the token source of every function that calls Acronis:
// it reads ACRONIS_TOKEN_SECRET_ID (cached for warm invocations) and asks the
// TOKEN_REFRESH_FUNCTION for a new token when needed. Build the client with
// its Client method at invocation time.
func AcronisTokens(cfg aws.Config, getenv func(string) string) (*tokenrefresh.SecretSource, error) {
	env, err := lambdafn.Env(getenv, "ACRONIS_TOKEN_SECRET_ID", "TOKEN_REFRESH_FUNCTION")
	if err != nil {
		return nil, err
	}
	store := &secrets.Cached{Store: &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)}, TTL: 5 * time.Minute}
	return &tokenrefresh.SecretSource{
		Secrets:       store,
		TokenSecretID: env["ACRONIS_TOKEN_SECRET_ID"],
		Refresh:       InvokeTokenRefresh(lambda.NewFromConfig(cfg), env["TOKEN_REFRESH_FUNCTION"]),
	}, nil
}

// Bucket is the DATA_BUCKET as an object store.
func Bucket(cfg aws.Config, getenv func(string) string) (*objstore.S3, error) {
	env, err := lambdafn.Env(getenv, "DATA_BUCKET")
	if err != nil {
		return nil, err
	}
	return &objstore.S3{Client: awsenv.S3(cfg), Bucket: env["DATA_BUCKET"]}, nil
}
