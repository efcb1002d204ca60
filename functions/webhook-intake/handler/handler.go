// Package handler builds the webhook-intake Lambda handler from its
// environment, so main stays one line and tests run the deployed wiring.
package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/provisioning"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Build wires the intake: WEBHOOK_SECRET_ID, PROVISIONING_TABLE and
// PROVISIONING_QUEUE_URL (a FIFO queue). It verifies, parses, records,
// enqueues and answers; it holds no Acronis credential.
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	env, err := lambdafn.Env(getenv, "WEBHOOK_SECRET_ID", "PROVISIONING_TABLE", "PROVISIONING_QUEUE_URL")
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(env["PROVISIONING_QUEUE_URL"], ".fifo") {
		return nil, fmt.Errorf("configuration: PROVISIONING_QUEUE_URL: %q is not a FIFO queue (.fifo): a customer's events must stay in order", env["PROVISIONING_QUEUE_URL"])
	}
	sm := &secrets.Cached{Store: &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)}, TTL: 5 * time.Minute}
	intake := &provisioning.Intake{
		Key: func(ctx context.Context) ([]byte, error) {
			k, err := sm.Get(ctx, env["WEBHOOK_SECRET_ID"])
			if err == nil && len(strings.TrimSpace(string(k))) < 16 {
				err = errors.New("webhook signing key shorter than 16 characters")
			}
			return []byte(strings.TrimSpace(string(k))), err
		},
		Store: &provisioning.DynamoDB{Client: dynamodb.NewFromConfig(cfg), Table: env["PROVISIONING_TABLE"]},
		Queue: &provisioning.SQSQueue{Client: sqs.NewFromConfig(cfg), URL: env["PROVISIONING_QUEUE_URL"]},
		Log:   log,
	}
	return intake.HandleHTTP, nil
}
