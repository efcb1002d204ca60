package handler

import (
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/envconfig/envconfigtest"

	"github.com/acp-serverless/acp-serverless/shared/usage"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
)

const uuid = "3f2b6c1e-8d4a-4c2f-9b1e-5a7d9c0e1f23"

var base = map[string]string{"ACRONIS_TOKEN_SECRET_ID": "tok", "TOKEN_REFRESH_FUNCTION": "refresh", "DATA_BUCKET": "data"}

// Every variable: unset (default or missing), malformed, out of range, set.
func TestLoadConfig(t *testing.T) {
	defaults := Config{Config: wiring.Config{Acronis: wiring.Acronis{TokenSecretID: "tok", RefreshFunction: "refresh"}, Bucket: "data"},
		MaxRPS: 10, Workers: usage.DefaultWorkers}
	envconfigtest.Run(t, LoadConfig, base, defaults, []envconfigtest.Case[Config]{
		{"defaults", "", "", func(*Config) {}, ""},
		{"token secret missing", "ACRONIS_TOKEN_SECRET_ID", "", nil, "ACRONIS_TOKEN_SECRET_ID not set"},
		{"token secret blank", "ACRONIS_TOKEN_SECRET_ID", "  ", nil, "ACRONIS_TOKEN_SECRET_ID not set"},
		{"refresh function missing", "TOKEN_REFRESH_FUNCTION", "", nil, "TOKEN_REFRESH_FUNCTION not set"},
		{"bucket missing", "DATA_BUCKET", "", nil, "DATA_BUCKET not set"},
		{"bucket trimmed", "DATA_BUCKET", " data2 ", func(c *Config) { c.Bucket = "data2" }, ""},
		{"root set", "ROOT_TENANT_ID", uuid, func(c *Config) { c.RootTenantID = uuid }, ""},
		{"root malformed", "ROOT_TENANT_ID", "acme", nil, `ROOT_TENANT_ID: "acme" is not a UUID`},
		{"root upper case", "ROOT_TENANT_ID", strings.ToUpper(uuid), nil, "ROOT_TENANT_ID"},
		{"rps set", "ACRONIS_MAX_RPS", "2.5", func(c *Config) { c.MaxRPS = 2.5 }, ""},
		{"rps at the top", "ACRONIS_MAX_RPS", "1000", func(c *Config) { c.MaxRPS = 1000 }, ""},
		{"rps malformed", "ACRONIS_MAX_RPS", "fast", nil, `ACRONIS_MAX_RPS: "fast" is not a number in (0, 1000]`},
		{"rps zero", "ACRONIS_MAX_RPS", "0", nil, "ACRONIS_MAX_RPS"},
		{"rps above", "ACRONIS_MAX_RPS", "1000.5", nil, "ACRONIS_MAX_RPS"},
		{"rps NaN", "ACRONIS_MAX_RPS", "NaN", nil, "ACRONIS_MAX_RPS"},
		{"workers set", "USAGE_WORKERS", "16", func(c *Config) { c.Workers = 16 }, ""},
		{"workers malformed", "USAGE_WORKERS", "many", nil, `USAGE_WORKERS: "many" is not a whole number in [1, 1000]`},
		{"workers fractional", "USAGE_WORKERS", "2.5", nil, "USAGE_WORKERS"},
		{"workers zero", "USAGE_WORKERS", "0", nil, "USAGE_WORKERS"},
		{"workers above", "USAGE_WORKERS", "1001", nil, "USAGE_WORKERS"},
	})
}

// An empty environment names every required variable at once.
func TestLoadConfigNamesAllMissing(t *testing.T) {
	_, err := LoadConfig(func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "ACRONIS_TOKEN_SECRET_ID, TOKEN_REFRESH_FUNCTION, DATA_BUCKET not set") {
		t.Fatalf("err %v", err)
	}
}
