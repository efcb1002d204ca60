// Package handler builds the usage-snapshot Lambda handler from its environment, so
// main stays one line and tests (the end-to-end one too) run the deployed wiring.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/throttle"
	"github.com/acp-serverless/acp-serverless/shared/usage"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Build wires the handler from the environment (tests call it with moto).
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, json.RawMessage) (usage.Result, error), error) {
	tokens, err := wiring.AcronisTokens(cfg, getenv)
	if err != nil {
		return nil, err
	}
	bucket, err := wiring.Bucket(cfg, getenv)
	if err != nil {
		return nil, err
	}
	rps, err := envNumber(getenv, "ACRONIS_MAX_RPS", 10)
	if err != nil {
		return nil, err
	}
	workers, err := envNumber(getenv, "USAGE_WORKERS", usage.DefaultWorkers)
	if err != nil {
		return nil, err
	}
	if workers != math.Trunc(workers) {
		return nil, fmt.Errorf("configuration: USAGE_WORKERS: %q is not a whole number", getenv("USAGE_WORKERS"))
	}
	root := getenv("ROOT_TENANT_ID")
	if root != "" {
		if err := acronis.CheckUUID(root); err != nil {
			return nil, fmt.Errorf("configuration: ROOT_TENANT_ID: %w", err)
		}
	}
	// One pace for the whole invocation, retries included.
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{Base: throttle.New(nil, rps, 1)})
	return func(ctx context.Context, raw json.RawMessage) (usage.Result, error) {
		req, err := usage.ParseRequest(raw)
		if err != nil {
			return usage.Result{}, err
		}
		client, err := tokens.Client(ctx, hc)
		if err != nil {
			return usage.Result{}, err
		}
		job := &usage.Job{
			API: client, Store: bucket, Log: log, Workers: int(workers),
			Root: acronis.RootTenant{ID: root, Owner: acronis.TokenOwner(tokens)},
		}
		return job.Run(ctx, req)
	}, nil
}

// envNumber reads an optional positive number.
func envNumber(getenv func(string) string, name string, def float64) (float64, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f > 1000 {
		return 0, fmt.Errorf("configuration: %s: %q is not a number in (0, 1000]", name, v)
	}
	return f, nil
}
