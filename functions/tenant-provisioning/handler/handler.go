// Package handler builds the tenant-provisioning worker's Lambda handler from its environment, so
// main stays one line and tests (the end-to-end one too) run the deployed wiring.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/provisioning"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Build wires the handler from the environment (tests call it with moto).
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, json.RawMessage) (any, error), error) {
	env, err := lambdafn.Env(getenv, "PROVISIONING_TABLE", "PARENT_TENANT_ID")
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
			Records []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		_ = json.Unmarshal(raw, &probe)
		if len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
			return queueBatch(ctx, worker, raw, log)
		}
		// The on-call engineer's plain event (or a dead letter's body).
		ev, err := webhook.ParseEvent(raw)
		if err != nil {
			return nil, fmt.Errorf("provisioning request: %w", err)
		}
		p, err := worker(ctx)
		if err != nil {
			return nil, err
		}
		return p.Handle(ctx, ev)
	}, nil
}

// queueBatch runs queued events in order. The queue is FIFO: once an event
// fails, it and every later one in the batch are reported as failures, so SQS
// redelivers them in order and no later event of the same customer overtakes
// it (AWS's rule for partial batch responses from FIFO queues).
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
	for i, m := range batch.Records {
		ev, err := webhook.ParseEvent([]byte(m.Body))
		if err == nil {
			_, err = p.Handle(ctx, ev)
		}
		if err != nil {
			log.ErrorContext(ctx, "queued event failed; it and the rest of the batch go back to the queue", "message_id", m.MessageId, "error", err.Error())
			for _, rest := range batch.Records[i:] {
				out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rest.MessageId})
			}
			break
		}
	}
	return out, nil
}
