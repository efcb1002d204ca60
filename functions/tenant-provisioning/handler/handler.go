// Package handler builds the tenant-provisioning worker's Lambda handler
// from its environment, so main stays one line and tests (the end-to-end one
// too) run the deployed wiring. The webhook's intake is another function
// (functions/webhook-intake) with another role.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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

// Build wires the worker's handler: an SQS batch from the FIFO queue, or the
// on-call engineer's plain event (a dead letter's body included).
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, json.RawMessage) (any, error), error) {
	worker, err := BuildWorker(cfg, getenv, log)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		_ = json.Unmarshal(raw, &probe)
		if len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
			var batch events.SQSEvent
			if err := json.Unmarshal(raw, &batch); err != nil {
				return nil, fmt.Errorf("SQS batch: %w", err)
			}
			return worker.HandleSQS(ctx, batch)
		}
		return worker.HandleEvent(ctx, raw)
	}, nil
}
