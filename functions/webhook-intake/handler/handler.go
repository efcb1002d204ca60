// Package handler builds the webhook-intake Lambda handler from its typed
// configuration, so main stays one line and tests run the deployed wiring.
package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/envconfig"
	"github.com/acp-serverless/acp-serverless/shared/provisioning"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Config is the function's environment, read and checked by LoadConfig.
// The intake holds no Acronis credential.
type Config struct {
	SecretID string // WEBHOOK_SECRET_ID: the signing key, at least 16 characters
	Table    string // PROVISIONING_TABLE: event ids already seen
	QueueURL string // PROVISIONING_QUEUE_URL: a FIFO queue (.fifo)
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := envconfig.New(getenv)
	c := Config{SecretID: env.Required("WEBHOOK_SECRET_ID"), Table: env.Required("PROVISIONING_TABLE"), QueueURL: env.Required("PROVISIONING_QUEUE_URL")}
	if c.QueueURL != "" && !strings.HasSuffix(c.QueueURL, ".fifo") {
		env.Check("PROVISIONING_QUEUE_URL", fmt.Errorf("%q is not a FIFO queue (.fifo): a customer's events must stay in order", c.QueueURL))
	}
	return c, env.Err()
}

// Build wires the intake: it verifies, parses, records, enqueues and answers.
func Build(cfg aws.Config, conf Config, log *slog.Logger) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	// Its own cached store (secrets.CacheTTL, as wiring's): importing shared/wiring would link
	// the Lambda and Acronis clients (0.5 MiB) into a function that calls neither.
	sm := &secrets.Cached{Store: &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)}, TTL: secrets.CacheTTL}
	intake := &provisioning.Intake{
		Key: func(ctx context.Context) ([]byte, error) {
			k, err := sm.Get(ctx, conf.SecretID)
			if err == nil && len(strings.TrimSpace(string(k))) < 16 {
				err = errors.New("webhook signing key shorter than 16 characters")
			}
			return []byte(strings.TrimSpace(string(k))), err
		},
		Store: &provisioning.DynamoDB{Client: dynamodb.NewFromConfig(cfg), Table: conf.Table},
		Queue: &provisioning.SQSQueue{Client: sqs.NewFromConfig(cfg), URL: conf.QueueURL},
		Log:   log,
	}
	return intake.HandleHTTP
}
