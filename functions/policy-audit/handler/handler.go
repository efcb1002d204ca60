// Package handler builds the policy-audit Lambda handler from its environment, so
// main stays one line and tests (the end-to-end one too) run the deployed wiring.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/audit"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"github.com/acp-serverless/acp-serverless/shared/notify"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Build wires the handler from the environment (tests call it with moto).
func Build(cfg aws.Config, getenv func(string) string, log *slog.Logger) (func(context.Context, json.RawMessage) (audit.Result, error), error) {
	tokens, err := wiring.AcronisTokens(cfg, getenv)
	if err != nil {
		return nil, err
	}
	bucket, err := wiring.Bucket(cfg, getenv)
	if err != nil {
		return nil, err
	}
	rules, root, timing, err := settingsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	var notifier notify.Notifier
	if arn := getenv("AUDIT_TOPIC_ARN"); arn != "" {
		notifier = &notify.SNS{Client: sns.NewFromConfig(cfg), TopicArn: arn}
	}
	cbrSecretID := getenv("HUAWEI_CBR_SECRET_ID")
	sm := &secrets.Cached{Store: &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)}, TTL: 5 * time.Minute}
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	cbrHTTP := huaweicbr.NewHTTPClient(httpretry.NewTransport(huaweicbr.NewTransport(huaweicbr.DefaultTimeouts), httpretry.Policy{}), huaweicbr.DefaultTimeouts)
	return func(ctx context.Context, raw json.RawMessage) (audit.Result, error) {
		req, err := audit.ParseRequest(raw)
		if err != nil {
			return audit.Result{}, err
		}
		job := &audit.Job{Rules: rules, Store: bucket, Notifier: notifier, Metrics: os.Stdout, Log: log,
			CBRSkipReason: "HUAWEI_CBR_SECRET_ID is not set", WriteReserve: timing.reserve, RenotifyAfter: timing.renotify}
		// The audit needs Acronis only when it is asked for.
		if len(req.Providers) == 0 || slices.Contains(req.Providers, audit.Acronis) {
			client, err := tokens.Client(ctx, hc)
			if err != nil {
				return audit.Result{}, err
			}
			job.Acronis = &audit.AcronisSource{Client: client}
			job.RootTenantID = func(ctx context.Context) (string, error) {
				if root != "" {
					return root, nil
				}
				tok, err := tokens.Token(ctx)
				if err != nil {
					return "", err
				}
				return acronis.TokenOwnerTenant(tok.AccessToken)
			}
		}
		if cbrSecretID != "" {
			// A broken CBR secret fails the CBR half only: Acronis is still audited.
			creds, err := cbrCredentials(ctx, sm, cbrSecretID)
			if err != nil {
				job.CBRError = err
			} else {
				job.CBR = &audit.CBRSource{Client: huaweicbr.New(creds, cbrHTTP), Project: creds.ProjectID}
			}
		}
		return job.Run(ctx, req)
	}, nil
}

type timing struct{ reserve, renotify time.Duration }

// settingsFromEnv reads the rules, ROOT_TENANT_ID and the timing settings.
func settingsFromEnv(getenv func(string) string) (audit.Rules, string, timing, error) {
	rules, err := rulesFromEnv(getenv)
	if err != nil {
		return rules, "", timing{}, err
	}
	root := getenv("ROOT_TENANT_ID")
	if root != "" {
		if err := acronis.CheckUUID(root); err != nil {
			return rules, "", timing{}, fmt.Errorf("configuration: ROOT_TENANT_ID: %w", err)
		}
	}
	t, err := timingFromEnv(getenv)
	return rules, root, t, err
}

// timingFromEnv reads AUDIT_WRITE_RESERVE_SECONDS (empty: a fifth of the
// time left, 2-60 s) and AUDIT_RENOTIFY_HOURS (empty or 0: never).
func timingFromEnv(getenv func(string) string) (timing, error) {
	var t timing
	if s := getenv("AUDIT_WRITE_RESERVE_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return t, fmt.Errorf("configuration: AUDIT_WRITE_RESERVE_SECONDS: %q is not a positive whole number", s)
		}
		t.reserve = time.Duration(n) * time.Second
	}
	if s := getenv("AUDIT_RENOTIFY_HOURS"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f >= 0 && f <= 24*365) {
			return t, fmt.Errorf("configuration: AUDIT_RENOTIFY_HOURS: %q is not a number of hours from 0 (off) to 8760", s)
		}
		t.renotify = time.Duration(f * float64(time.Hour))
	}
	return t, nil
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

func rulesFromEnv(getenv func(string) string) (audit.Rules, error) {
	var r audit.Rules
	for _, v := range []struct {
		name string
		dst  *float64
	}{{"AUDIT_MAX_HOURS_WITHOUT_RUN", &r.MaxHoursWithoutRun}, {"AUDIT_MAX_INTERVAL_HOURS", &r.MaxIntervalHours},
		{"AUDIT_MAX_HOURS_WITHOUT_SUCCESS", &r.MaxHoursWithoutSuccess}, {"AUDIT_AGENT_OFFLINE_HOURS", &r.AgentOfflineHours}} {
		if s := getenv(v.name); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || !(f > 0 && f < 1e6) {
				return r, fmt.Errorf("configuration: %s: %q is not a positive number", v.name, s)
			}
			*v.dst = f
		}
	}
	if s := getenv("AUDIT_MIN_RETENTION_DAYS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return r, fmt.Errorf("configuration: AUDIT_MIN_RETENTION_DAYS: %q is not a positive whole number", s)
		}
		r.MinRetentionDays = n
	}
	return r.WithDefaults(), nil
}
