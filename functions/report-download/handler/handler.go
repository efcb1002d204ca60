// Package handler builds the report-download Lambda handler from its environment, so
// main stays one line and tests (the end-to-end one too) run the deployed wiring.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/reports"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Build wires the handler from the environment (tests call it with moto).
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, json.RawMessage) (reports.Result, error), error) {
	tokens, err := wiring.AcronisTokens(cfg, getenv)
	if err != nil {
		return nil, err
	}
	bucket, err := wiring.Bucket(cfg, getenv)
	if err != nil {
		return nil, err
	}
	defaults, err := defaultsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	return func(ctx context.Context, raw json.RawMessage) (reports.Result, error) {
		spec, err := reports.ParseRequest(raw, defaults, time.Now())
		if err != nil {
			return reports.Result{}, err
		}
		client, err := tokens.Client(ctx, hc)
		if err != nil {
			return reports.Result{}, err
		}
		job := &reports.Job{Client: client, Store: bucket, Log: log, Root: acronis.RootTenant{Owner: acronis.TokenOwner(tokens)}}
		return job.Run(ctx, spec)
	}, nil
}

// defaultsFromEnv reads the deployment's report defaults; bad values are
// caught at cold start, named.
func defaultsFromEnv(getenv func(string) string) (reports.Request, error) {
	d := reports.Request{TenantID: getenv("REPORT_TENANT_ID"), Level: getenv("REPORT_LEVEL")}
	if f := strings.TrimSpace(getenv("REPORT_FORMATS")); f != "" {
		for _, s := range strings.Split(f, ",") {
			d.Formats = append(d.Formats, strings.TrimSpace(s))
		}
	}
	switch v := getenv("REPORT_SHOW_SKUS"); v {
	case "", "false":
	case "true":
		t := true
		d.ShowSkus = &t
	default:
		return d, fmt.Errorf("configuration: REPORT_SHOW_SKUS: %q is not true or false", v)
	}
	// Validate once, as a request with these defaults would be.
	if _, err := reports.ParseRequest(nil, d, time.Now()); err != nil {
		return d, fmt.Errorf("configuration: %w", err)
	}
	return d, nil
}
