package handler

import (
	"testing"

	"time"

	"github.com/acp-serverless/acp-serverless/shared/envconfig/envconfigtest"

	"github.com/acp-serverless/acp-serverless/shared/audit"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
)

const uuid = "3f2b6c1e-8d4a-4c2f-9b1e-5a7d9c0e1f23"

var base = map[string]string{"ACRONIS_TOKEN_SECRET_ID": "tok", "TOKEN_REFRESH_FUNCTION": "refresh", "DATA_BUCKET": "data"}

// Every variable: unset (default or missing), malformed, out of range, set.
func TestLoadConfig(t *testing.T) {
	envconfigtest.Run(t, LoadConfig, base, Config{Config: wiring.Config{Acronis: wiring.Acronis{TokenSecretID: "tok", RefreshFunction: "refresh"}, Bucket: "data"},
		Rules: audit.Rules{}.WithDefaults()}, []envconfigtest.Case[Config]{
		{"defaults", "", "", func(*Config) {}, ""},
		{"token secret missing", "ACRONIS_TOKEN_SECRET_ID", "", nil, "ACRONIS_TOKEN_SECRET_ID not set"},
		{"refresh function missing", "TOKEN_REFRESH_FUNCTION", "", nil, "TOKEN_REFRESH_FUNCTION not set"},
		{"bucket missing", "DATA_BUCKET", "", nil, "DATA_BUCKET not set"},
		{"root set", "ROOT_TENANT_ID", uuid, func(c *Config) { c.RootTenantID = uuid }, ""},
		{"root malformed", "ROOT_TENANT_ID", "17", nil, `ROOT_TENANT_ID: "17" is not a UUID`},
		{"topic set", "AUDIT_TOPIC_ARN", "arn:aws:sns:eu-central-1:1:audit", func(c *Config) { c.TopicARN = "arn:aws:sns:eu-central-1:1:audit" }, ""},
		{"CBR secret set", "HUAWEI_CBR_SECRET_ID", "cbr", func(c *Config) { c.CBRSecretID = "cbr" }, ""},
		{"hours without run set", "AUDIT_MAX_HOURS_WITHOUT_RUN", "48", func(c *Config) { c.Rules.MaxHoursWithoutRun = 48 }, ""},
		{"hours without run zero", "AUDIT_MAX_HOURS_WITHOUT_RUN", "0", nil, `AUDIT_MAX_HOURS_WITHOUT_RUN: "0" is not a number in (0, 1e+06)`},
		{"interval set", "AUDIT_MAX_INTERVAL_HOURS", "12.5", func(c *Config) { c.Rules.MaxIntervalHours = 12.5 }, ""},
		{"interval malformed", "AUDIT_MAX_INTERVAL_HOURS", "a day", nil, "AUDIT_MAX_INTERVAL_HOURS"},
		{"interval too large", "AUDIT_MAX_INTERVAL_HOURS", "1e6", nil, "AUDIT_MAX_INTERVAL_HOURS"},
		{"without success set", "AUDIT_MAX_HOURS_WITHOUT_SUCCESS", "6", func(c *Config) { c.Rules.MaxHoursWithoutSuccess = 6 }, ""},
		{"without success zero", "AUDIT_MAX_HOURS_WITHOUT_SUCCESS", "0", nil, "AUDIT_MAX_HOURS_WITHOUT_SUCCESS"},
		{"agent offline set", "AUDIT_AGENT_OFFLINE_HOURS", "72", func(c *Config) { c.Rules.AgentOfflineHours = 72 }, ""},
		{"agent offline NaN", "AUDIT_AGENT_OFFLINE_HOURS", "NaN", nil, "AUDIT_AGENT_OFFLINE_HOURS"},
		{"agent offline Inf", "AUDIT_AGENT_OFFLINE_HOURS", "Inf", nil, "AUDIT_AGENT_OFFLINE_HOURS"},
		{"retention set", "AUDIT_MIN_RETENTION_DAYS", "90", func(c *Config) { c.Rules.MinRetentionDays = 90 }, ""},
		{"retention negative", "AUDIT_MIN_RETENTION_DAYS", "-3", nil, `AUDIT_MIN_RETENTION_DAYS: "-3" is not a whole number of at least 1`},
		{"retention fractional", "AUDIT_MIN_RETENTION_DAYS", "30.5", nil, "AUDIT_MIN_RETENTION_DAYS"},
		{"reserve set", "AUDIT_WRITE_RESERVE_SECONDS", "45", func(c *Config) { c.WriteReserve = 45 * time.Second }, ""},
		{"reserve zero", "AUDIT_WRITE_RESERVE_SECONDS", "0", nil, "AUDIT_WRITE_RESERVE_SECONDS"},
		{"reserve fractional", "AUDIT_WRITE_RESERVE_SECONDS", "1.5", nil, `AUDIT_WRITE_RESERVE_SECONDS: "1.5" is not a whole number`},
		{"renotify set", "AUDIT_RENOTIFY_HOURS", "1.5", func(c *Config) { c.RenotifyAfter = 90 * time.Minute }, ""},
		{"renotify zero is off", "AUDIT_RENOTIFY_HOURS", "0", func(*Config) {}, ""},
		{"renotify a year", "AUDIT_RENOTIFY_HOURS", "8760", func(c *Config) { c.RenotifyAfter = 8760 * time.Hour }, ""},
		{"renotify above a year", "AUDIT_RENOTIFY_HOURS", "8761", nil, `AUDIT_RENOTIFY_HOURS: "8761" is not a number in [0, 8760]`},
		{"renotify negative", "AUDIT_RENOTIFY_HOURS", "-1", nil, "AUDIT_RENOTIFY_HOURS"},
		{"renotify NaN", "AUDIT_RENOTIFY_HOURS", "NaN", nil, "AUDIT_RENOTIFY_HOURS"},
	})
}
