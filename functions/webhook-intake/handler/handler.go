// Package handler builds the webhook-intake Lambda handler from its
// environment, so main stays one line and tests run the deployed wiring.
package handler

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/provisioning"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Build wires the handler from the environment (tests call it with moto).
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	env, err := lambdafn.Env(getenv, "WEBHOOK_SECRET_ID", "PROVISIONING_TABLE", "PROVISIONING_QUEUE_URL")
	if err != nil {
		return nil, err
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
		Queue: &fifoQueue{Client: sqs.NewFromConfig(cfg), URL: env["PROVISIONING_QUEUE_URL"]},
		Log:   log,
	}
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return webhookRequest(ctx, intake, req), nil
	}, nil
}

func webhookRequest(ctx context.Context, intake *provisioning.Intake, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 400, Body: `{"message":"invalid base64 body"}`}
		}
	}
	header := func(name string) string {
		for k, v := range req.Headers { // HTTP API lower-cases names; be lenient anyway
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
	if req.RequestContext.HTTP.Method != "" && req.RequestContext.HTTP.Method != http.MethodPost {
		return events.APIGatewayV2HTTPResponse{StatusCode: 405, Body: `{"message":"POST only"}`}
	}
	r := intake.Accept(ctx, header, body)
	return events.APIGatewayV2HTTPResponse{StatusCode: r.Status, Body: r.Body, Headers: map[string]string{"Content-Type": "application/json"}}
}

// fifoQueue sends to the FIFO provisioning queue: one message group per CRM
// customer, so the worker sees a customer's events in the order they came,
// deduplicated by event id. (Stand-in until shared/provisioning sends to
// FIFO itself; the body was verified and parsed by Accept already.)
type fifoQueue struct {
	Client *sqs.Client
	URL    string
}

func (q *fifoQueue) Enqueue(ctx context.Context, eventID string, body []byte) error {
	ev, err := webhook.ParseEvent(body)
	if err != nil {
		return fmt.Errorf("enqueue event %s: %w", eventID, err)
	}
	_, err = q.Client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body)),
		MessageGroupId: aws.String(ev.Customer.CRMID), MessageDeduplicationId: aws.String(eventID),
	})
	if err != nil {
		return fmt.Errorf("enqueue event %s: %w", eventID, err)
	}
	return nil
}
