// Package handler builds the policy-audit Lambda handler from its typed
// configuration, so main stays one line and tests (the end-to-end one too)
// run the deployed wiring.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/audit"
	"github.com/acp-serverless/acp-serverless/shared/envconfig"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"github.com/acp-serverless/acp-serverless/shared/notify"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Config is the function's environment, read and checked by LoadConfig.
type Config struct {
	wiring.Config        // ACRONIS_TOKEN_SECRET_ID, TOKEN_REFRESH_FUNCTION, DATA_BUCKET
	RootTenantID  string // ROOT_TENANT_ID: a UUID, or "" for the token's owner_tuid
	TopicARN      string // AUDIT_TOPIC_ARN: "" sends no notifications
	CBRSecretID   string // HUAWEI_CBR_SECRET_ID: "" skips Huawei Cloud CBR
	// Rules: AUDIT_MAX_HOURS_WITHOUT_RUN, AUDIT_MAX_INTERVAL_HOURS,
	// AUDIT_MAX_HOURS_WITHOUT_SUCCESS, AUDIT_AGENT_OFFLINE_HOURS (hours in
	// (0, 1e6)), AUDIT_MIN_RETENTION_DAYS (days, at least 1); unset: audit's defaults.
	Rules audit.Rules
	// WriteReserve (AUDIT_WRITE_RESERVE_SECONDS, whole seconds, at least 1);
	// 0: the job's own (a fifth of the time left, 2-60 s).
	WriteReserve time.Duration
	// RenotifyAfter (AUDIT_RENOTIFY_HOURS, 0 to 8760); 0: each critical is paged once.
	RenotifyAfter time.Duration
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := envconfig.New(getenv)
	c := Config{
		Config:       wiring.Read(env),
		RootTenantID: env.Optional("ROOT_TENANT_ID", acronis.CheckUUID),
		TopicARN:     env.Optional("AUDIT_TOPIC_ARN", nil),
		CBRSecretID:  env.Optional("HUAWEI_CBR_SECRET_ID", nil),
		Rules:        readRules(env),
	}
	c.WriteReserve = time.Duration(env.Int("AUDIT_WRITE_RESERVE_SECONDS", 0, envconfig.AtLeast(1))) * time.Second
	hours := env.Float("AUDIT_RENOTIFY_HOURS", 0, envconfig.Range[float64]{Min: 0, Max: 24 * 365})
	c.RenotifyAfter = time.Duration(hours * float64(time.Hour))
	return c, env.Err()
}

// readRules reads the thresholds over audit's defaults.
func readRules(env *envconfig.Env) audit.Rules {
	r := audit.Rules{}.WithDefaults()
	hours := envconfig.Range[float64]{Min: 0, MinOpen: true, Max: 1e6, MaxOpen: true}
	r.MaxHoursWithoutRun = env.Float("AUDIT_MAX_HOURS_WITHOUT_RUN", r.MaxHoursWithoutRun, hours)
	r.MaxIntervalHours = env.Float("AUDIT_MAX_INTERVAL_HOURS", r.MaxIntervalHours, hours)
	r.MaxHoursWithoutSuccess = env.Float("AUDIT_MAX_HOURS_WITHOUT_SUCCESS", r.MaxHoursWithoutSuccess, hours)
	r.AgentOfflineHours = env.Float("AUDIT_AGENT_OFFLINE_HOURS", r.AgentOfflineHours, hours)
	r.MinRetentionDays = env.Int("AUDIT_MIN_RETENTION_DAYS", r.MinRetentionDays, envconfig.AtLeast(1))
	return r
}

// Build wires the handler (tests call it with moto).
func Build(cfg aws.Config, conf Config, log *slog.Logger) func(context.Context, json.RawMessage) (audit.Result, error) {
	deps := wiring.Wire(cfg, conf.Config)
	bucket := deps.Bucket()
	root := deps.RootTenant(conf.RootTenantID)
	var notifier notify.Notifier
	if conf.TopicARN != "" {
		notifier = &notify.SNS{Client: sns.NewFromConfig(cfg), TopicArn: conf.TopicARN}
	}
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	cbrHTTP := huaweicbr.NewHTTPClient(httpretry.NewTransport(huaweicbr.NewTransport(huaweicbr.DefaultTimeouts), httpretry.Policy{}), huaweicbr.DefaultTimeouts)
	return func(ctx context.Context, raw json.RawMessage) (audit.Result, error) {
		req, err := audit.ParseRequest(raw)
		if err != nil {
			return audit.Result{}, err
		}
		job := &audit.Job{Rules: conf.Rules, Store: bucket, Notifier: notifier, Metrics: os.Stdout, Log: log, Root: root,
			CBRSkipReason: "HUAWEI_CBR_SECRET_ID is not set", WriteReserve: conf.WriteReserve, RenotifyAfter: conf.RenotifyAfter}
		// The audit needs Acronis only when it is asked for.
		if len(req.Providers) == 0 || slices.Contains(req.Providers, audit.Acronis) {
			client, err := deps.Tokens.Client(ctx, hc)
			if err != nil {
				return audit.Result{}, err
			}
			job.Acronis = &audit.AcronisSource{Client: client}
		}
		if conf.CBRSecretID != "" {
			// A broken CBR secret fails the CBR half only: Acronis is still audited.
			creds, err := cbrCredentials(ctx, deps.Secrets, conf.CBRSecretID)
			if err != nil {
				job.CBRError = err
			} else {
				job.CBR = &audit.CBRSource{Client: huaweicbr.New(creds, cbrHTTP), Project: creds.ProjectID}
			}
		}
		return job.Run(ctx, req)
	}
}

func cbrCredentials(ctx context.Context, sm secrets.Store, id string) (huaweicbr.Credentials, error) {
	b, err := sm.Get(ctx, id)
	if err != nil {
		return huaweicbr.Credentials{}, fmt.Errorf("read %s: %w", id, err)
	}
	creds, err := huaweicbr.ParseCredentials(b)
	if err != nil {
		return huaweicbr.Credentials{}, fmt.Errorf("secret %s: %w", id, err)
	}
	return creds, nil
}
