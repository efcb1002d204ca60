// Package handler builds the tenant-provisioning Lambda handler from its environment, so
// main stays one line and tests (the end-to-end one too) run the deployed wiring.
package handler

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/provisioning"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Build wires the handler from the environment (tests call it with moto).
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, json.RawMessage) (any, error), error) {
	env, err := lambdafn.Env(getenv, "WEBHOOK_SECRET_ID", "PROVISIONING_TABLE", "PROVISIONING_QUEUE_URL", "PARENT_TENANT_ID")
	if err != nil {
		return nil, err
	}
	if err := acronis.CheckUUID(env["PARENT_TENANT_ID"]); err != nil {
		return nil, fmt.Errorf("configuration: PARENT_TENANT_ID: %w", err)
	}
	allow := getenv("ALLOW_TENANT_DELETION")
	if allow != "" && allow != "true" && allow != "false" {
		return nil, fmt.Errorf("configuration: ALLOW_TENANT_DELETION: %q is not true or false", allow)
	}
	role := getenv("DEFAULT_USER_ROLE")
	if role != "" && !slices.Contains(webhook.Roles, role) {
		return nil, fmt.Errorf("configuration: DEFAULT_USER_ROLE: %q is not one of %s", role, strings.Join(webhook.Roles, ", "))
	}
	tokens, err := wiring.AcronisTokens(cfg, getenv)
	if err != nil {
		return nil, err
	}
	store := &provisioning.DynamoDB{Client: dynamodb.NewFromConfig(cfg), Table: env["PROVISIONING_TABLE"]}
	sm := &secrets.Cached{Store: &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)}, TTL: 5 * time.Minute}
	intake := &provisioning.Intake{
		Key: func(ctx context.Context) ([]byte, error) {
			k, err := sm.Get(ctx, env["WEBHOOK_SECRET_ID"])
			if err == nil && len(strings.TrimSpace(string(k))) < 16 {
				err = errors.New("webhook signing key shorter than 16 characters")
			}
			return []byte(strings.TrimSpace(string(k))), err
		},
		Store: store, Queue: &provisioning.SQSQueue{Client: sqs.NewFromConfig(cfg), URL: env["PROVISIONING_QUEUE_URL"]}, Log: log,
	}
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	conf := provisioning.Config{ParentTenantID: env["PARENT_TENANT_ID"], AllowDeletion: allow == "true", DefaultRole: role}
	worker := func(ctx context.Context) (*provisioning.Provisioner, error) {
		client, err := tokens.Client(ctx, hc)
		if err != nil {
			return nil, err
		}
		return &provisioning.Provisioner{API: client, Store: store, Config: conf, Log: log}, nil
	}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			RequestContext json.RawMessage `json:"requestContext"`
			Records        []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		_ = json.Unmarshal(raw, &probe)
		switch {
		case len(probe.RequestContext) > 0:
			return webhookRequest(ctx, intake, raw)
		case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
			return queueBatch(ctx, worker, raw, log)
		default: // the on-call engineer's plain event
			ev, err := webhook.ParseEvent(raw)
			if err != nil {
				return nil, fmt.Errorf("provisioning request: %w", err)
			}
			p, err := worker(ctx)
			if err != nil {
				return nil, err
			}
			return p.Handle(ctx, ev)
		}
	}, nil
}

func webhookRequest(ctx context.Context, intake *provisioning.Intake, raw json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return events.APIGatewayV2HTTPResponse{StatusCode: 400, Body: `{"message":"invalid request"}`}, nil
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 400, Body: `{"message":"invalid base64 body"}`}, nil
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
		return events.APIGatewayV2HTTPResponse{StatusCode: 405, Body: `{"message":"POST only"}`}, nil
	}
	r := intake.Accept(ctx, header, body)
	return events.APIGatewayV2HTTPResponse{StatusCode: r.Status, Body: r.Body, Headers: map[string]string{"Content-Type": "application/json"}}, nil
}

// queueBatch runs queued events; failed ones are reported so SQS retries
// only them (and moves them to the dead-letter queue after maxReceiveCount).
func queueBatch(ctx context.Context, worker func(context.Context) (*provisioning.Provisioner, error), raw json.RawMessage, log *slog.Logger) (events.SQSEventResponse, error) {
	var batch events.SQSEvent
	if err := json.Unmarshal(raw, &batch); err != nil {
		return events.SQSEventResponse{}, fmt.Errorf("SQS batch: %w", err)
	}
	var out events.SQSEventResponse
	p, err := worker(ctx)
	if err != nil {
		return out, err // the whole batch is retried
	}
	for _, m := range batch.Records {
		ev, err := webhook.ParseEvent([]byte(m.Body))
		if err == nil {
			_, err = p.Handle(ctx, ev)
		}
		if err != nil {
			log.ErrorContext(ctx, "queued event failed", "message_id", m.MessageId, "error", err.Error())
			out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return out, nil
}
