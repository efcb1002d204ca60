// Package handler builds the usage-snapshot Lambda handler from its typed
// configuration, so main stays one line and tests (the end-to-end one too)
// run the deployed wiring.
package handler

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/envconfig"
	"github.com/acp-serverless/acp-serverless/shared/throttle"
	"github.com/acp-serverless/acp-serverless/shared/usage"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Config is the function's environment, read and checked by LoadConfig.
type Config struct {
	wiring.Config         // ACRONIS_TOKEN_SECRET_ID, TOKEN_REFRESH_FUNCTION, DATA_BUCKET
	RootTenantID  string  // ROOT_TENANT_ID: a UUID, or "" for the token's owner_tuid
	MaxRPS        float64 // ACRONIS_MAX_RPS: (0, 1000], default 10
	Workers       int     // USAGE_WORKERS: batch calls in flight, 1-1000, default usage.DefaultWorkers
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := envconfig.New(getenv)
	c := Config{
		Config:       wiring.Read(env),
		RootTenantID: env.Optional("ROOT_TENANT_ID", acronis.CheckUUID),
		MaxRPS:       env.Float("ACRONIS_MAX_RPS", 10, envconfig.Range[float64]{Min: 0, MinOpen: true, Max: 1000}),
		Workers:      env.Int("USAGE_WORKERS", usage.DefaultWorkers, envconfig.Range[int]{Min: 1, Max: 1000}),
	}
	return c, env.Err()
}

// Build wires the handler (tests call it with moto).
func Build(cfg aws.Config, conf Config, log *slog.Logger) func(context.Context, json.RawMessage) (usage.Result, error) {
	deps := wiring.Wire(cfg, conf.Config)
	bucket := deps.Bucket()
	root := deps.RootTenant(conf.RootTenantID)
	// One pace for the whole invocation, retries included.
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{Base: throttle.New(nil, conf.MaxRPS, 1)})
	return func(ctx context.Context, raw json.RawMessage) (usage.Result, error) {
		req, err := usage.ParseRequest(raw)
		if err != nil {
			return usage.Result{}, err
		}
		client, err := deps.Tokens.Client(ctx, hc)
		if err != nil {
			return usage.Result{}, err
		}
		job := &usage.Job{API: client, Store: bucket, Log: log, Root: root, Workers: conf.Workers}
		return job.Run(ctx, req)
	}
}
