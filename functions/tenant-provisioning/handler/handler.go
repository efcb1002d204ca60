// Package handler builds the tenant-provisioning worker's Lambda handler
// from its typed configuration, so main stays one line and tests (the
// end-to-end one too) run the deployed wiring. The webhook's intake is
// another function (functions/webhook-intake) with another role.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/envconfig"
	"github.com/acp-serverless/acp-serverless/shared/provisioning"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Config is the function's environment, read and checked by LoadConfig.
type Config struct {
	wiring.Config        // ACRONIS_TOKEN_SECRET_ID, TOKEN_REFRESH_FUNCTION
	Table         string // PROVISIONING_TABLE
	// Provisioning: PARENT_TENANT_ID (a UUID, required),
	// ALLOW_TENANT_DELETION (true or false), DEFAULT_USER_ROLE and
	// PSA_USER_ROLE (the platform's userRole values), STORAGE_INFRA_ID (a UUID).
	Provisioning provisioning.Config
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := envconfig.New(getenv)
	c := Config{Config: wiring.Config{Acronis: wiring.ReadAcronis(env)}, Table: env.Required("PROVISIONING_TABLE")}
	p := &c.Provisioning
	if p.ParentTenantID = env.Required("PARENT_TENANT_ID"); p.ParentTenantID != "" {
		env.Check("PARENT_TENANT_ID", acronis.CheckUUID(p.ParentTenantID))
	}
	p.AllowDeletion = env.Bool("ALLOW_TENANT_DELETION", false)
	p.DefaultRole = env.Optional("DEFAULT_USER_ROLE", checkRole)
	p.PSARole = env.Optional("PSA_USER_ROLE", checkRole)
	p.StorageInfraID = env.Optional("STORAGE_INFRA_ID", acronis.CheckUUID)
	return c, env.Err()
}

func checkRole(role string) error {
	if !webhook.ValidRole(role) {
		return fmt.Errorf("%q is not in the platform's userRole list (%s)", role, strings.Join(webhook.Roles, ", "))
	}
	return nil
}

// Build wires the worker's handler: an SQS batch from the FIFO queue, or the
// on-call engineer's plain event (a dead letter's body included).
func Build(cfg aws.Config, conf Config, log *slog.Logger) func(context.Context, json.RawMessage) (any, error) {
	worker := newWorker(cfg, conf, log)
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
	}
}

// newWorker gives each invocation a provisioner with a client on the
// current token.
func newWorker(cfg aws.Config, conf Config, log *slog.Logger) *provisioning.Worker {
	deps := wiring.Wire(cfg, conf.Config)
	store := &provisioning.DynamoDB{Client: dynamodb.NewFromConfig(cfg), Table: conf.Table}
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	return &provisioning.Worker{Log: log, Provisioner: func(ctx context.Context) (*provisioning.Provisioner, error) {
		client, err := deps.Tokens.Client(ctx, hc)
		if err != nil {
			return nil, err
		}
		return &provisioning.Provisioner{API: client, Store: store, Config: conf.Provisioning, Log: log}, nil
	}}
}
