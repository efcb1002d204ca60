// Package handler builds the tenant-provisioning Lambda handlers from their
// environment, so main stays one line and tests (the end-to-end one too)
// run the deployed wiring. BuildIntake and BuildWorker serve two separate
// functions (the webhook intake, the queue's worker); Build serves both from
// one function, telling the payloads apart.
package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// BuildIntake wires the webhook intake: WEBHOOK_SECRET_ID,
// PROVISIONING_TABLE, PROVISIONING_QUEUE_URL (a FIFO queue).
func BuildIntake(cfg aws.Config, getenv func(string) string, log *slog.Logger) (*provisioning.Intake, error) {
	env, err := lambdafn.Env(getenv, "WEBHOOK_SECRET_ID", "PROVISIONING_TABLE", "PROVISIONING_QUEUE_URL")
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(env["PROVISIONING_QUEUE_URL"], ".fifo") {
		return nil, fmt.Errorf("configuration: PROVISIONING_QUEUE_URL: %q is not a FIFO queue (.fifo): a customer's events must stay in order", env["PROVISIONING_QUEUE_URL"])
	}
	sm := &secrets.Cached{Store: &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)}, TTL: 5 * time.Minute}
	return &provisioning.Intake{
		Key: func(ctx context.Context) ([]byte, error) {
			k, err := sm.Get(ctx, env["WEBHOOK_SECRET_ID"])
			if err == nil && len(strings.TrimSpace(string(k))) < 16 {
				err = errors.New("webhook signing key shorter than 16 characters")
			}
			return []byte(strings.TrimSpace(string(k))), err
		},
		Store: &provisioning.DynamoDB{Client: dynamodb.NewFromConfig(cfg), Table: env["PROVISIONING_TABLE"]},
		Queue: &provisioning.SQSQueue{Client: sqs.NewFromConfig(cfg), URL: env["PROVISIONING_QUEUE_URL"]}, Log: log,
	}, nil
}

// workerConfig reads PARENT_TENANT_ID, ALLOW_TENANT_DELETION,
// DEFAULT_USER_ROLE, PSA_USER_ROLE and STORAGE_INFRA_ID.
func workerConfig(getenv func(string) string) (provisioning.Config, error) {
	conf := provisioning.Config{ParentTenantID: getenv("PARENT_TENANT_ID"), DefaultRole: getenv("DEFAULT_USER_ROLE"),
		PSARole: getenv("PSA_USER_ROLE"), StorageInfraID: getenv("STORAGE_INFRA_ID")}
	if err := acronis.CheckUUID(conf.ParentTenantID); err != nil {
		return conf, fmt.Errorf("configuration: PARENT_TENANT_ID: %w", err)
	}
	switch allow := getenv("ALLOW_TENANT_DELETION"); allow {
	case "", "false":
	case "true":
		conf.AllowDeletion = true
	default:
		return conf, fmt.Errorf("configuration: ALLOW_TENANT_DELETION: %q is not true or false", allow)
	}
	for name, role := range map[string]string{"DEFAULT_USER_ROLE": conf.DefaultRole, "PSA_USER_ROLE": conf.PSARole} {
		if role != "" && !webhook.ValidRole(role) {
			return conf, fmt.Errorf("configuration: %s: %q is not in the platform's userRole list (%s)", name, role, strings.Join(webhook.Roles, ", "))
		}
	}
	if id := conf.StorageInfraID; id != "" && acronis.CheckUUID(id) != nil {
		return conf, fmt.Errorf("configuration: STORAGE_INFRA_ID: %q is not a UUID", id)
	}
	return conf, nil
}

// BuildWorker wires the worker: PROVISIONING_TABLE, the Acronis token
// (wiring.AcronisTokens) and workerConfig's variables.
func BuildWorker(cfg aws.Config, getenv func(string) string, log *slog.Logger) (*provisioning.Worker, error) {
	env, err := lambdafn.Env(getenv, "PROVISIONING_TABLE", "PARENT_TENANT_ID")
	if err != nil {
		return nil, err
	}
	conf, err := workerConfig(getenv)
	if err != nil {
		return nil, err
	}
	tokens, err := wiring.AcronisTokens(cfg, getenv)
	if err != nil {
		return nil, err
	}
	store := &provisioning.DynamoDB{Client: dynamodb.NewFromConfig(cfg), Table: env["PROVISIONING_TABLE"]}
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	return &provisioning.Worker{Log: log, Provisioner: func(ctx context.Context) (*provisioning.Provisioner, error) {
		client, err := tokens.Client(ctx, hc)
		if err != nil {
			return nil, err
		}
		return &provisioning.Provisioner{API: client, Store: store, Config: conf, Log: log}, nil
	}}, nil
}

// Build wires intake and worker into one handler for a single function.
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, json.RawMessage) (any, error), error) {
	intake, err := BuildIntake(cfg, getenv, log)
	if err != nil {
		return nil, err
	}
	worker, err := BuildWorker(cfg, getenv, log)
	if err != nil {
		return nil, err
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
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &req); err != nil {
				return events.APIGatewayV2HTTPResponse{StatusCode: 400, Body: `{"message":"invalid request"}`}, nil
			}
			return intake.HandleHTTP(ctx, req)
		case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
			var batch events.SQSEvent
			if err := json.Unmarshal(raw, &batch); err != nil {
				return nil, fmt.Errorf("SQS batch: %w", err)
			}
			return worker.HandleSQS(ctx, batch)
		default: // the on-call engineer's plain event
			return worker.HandleEvent(ctx, raw)
		}
	}, nil
}
