// Package handler builds the report-download Lambda handler from its typed
// configuration, so main stays one line and tests (the end-to-end one too)
// run the deployed wiring.
package handler

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/envconfig"
	"github.com/acp-serverless/acp-serverless/shared/reports"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Config is the function's environment, read and checked by LoadConfig.
type Config struct {
	wiring.Config // ACRONIS_TOKEN_SECRET_ID, TOKEN_REFRESH_FUNCTION, DATA_BUCKET
	// TenantID (REPORT_TENANT_ID) is the report's tenant when the request
	// names none; "": the token's owner_tuid.
	TenantID string
	// Defaults fill what a request leaves out: REPORT_LEVEL, REPORT_FORMATS
	// (comma-separated), REPORT_SHOW_SKUS (true or false).
	Defaults reports.Request
}

// LoadConfig reads the environment; the error names every bad variable.
// Each default is checked as the request field it stands for would be.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := envconfig.New(getenv)
	c := Config{Config: wiring.Read(env)}
	c.TenantID = env.Optional("REPORT_TENANT_ID", asRequest(func(v string) reports.Request { return reports.Request{TenantID: v} }))
	c.Defaults.Level = env.Optional("REPORT_LEVEL", asRequest(func(v string) reports.Request { return reports.Request{Level: v} }))
	c.Defaults.Formats = splitList(env.Optional("REPORT_FORMATS", asRequest(func(v string) reports.Request { return reports.Request{Formats: splitList(v)} })))
	// false leaves the field unset, as a request without show_skus.
	if env.Bool("REPORT_SHOW_SKUS", false) {
		t := true
		c.Defaults.ShowSkus = &t
	}
	return c, env.Err()
}

// asRequest checks a default as a request carrying only it, so the operator
// reads the reason a caller would (`field "formats": ...`).
func asRequest(req func(v string) reports.Request) func(string) error {
	return func(v string) error {
		_, err := reports.ParseRequest(nil, req(v), time.Now())
		return err
	}
}

// splitList splits a comma-separated list, trimming each item; blank is none.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}

// Build wires the handler (tests call it with moto).
func Build(cfg aws.Config, conf Config, log *slog.Logger) func(context.Context, json.RawMessage) (reports.Result, error) {
	deps := wiring.Wire(cfg, conf.Config)
	bucket := deps.Bucket()
	root := deps.RootTenant(conf.TenantID)
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	return func(ctx context.Context, raw json.RawMessage) (reports.Result, error) {
		spec, err := reports.ParseRequest(raw, conf.Defaults, time.Now())
		if err != nil {
			return reports.Result{}, err
		}
		client, err := deps.Tokens.Client(ctx, hc)
		if err != nil {
			return reports.Result{}, err
		}
		job := &reports.Job{Client: client, Store: bucket, Log: log, Root: root}
		return job.Run(ctx, spec)
	}
}
