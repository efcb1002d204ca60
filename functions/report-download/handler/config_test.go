package handler

import (
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/envconfig/envconfigtest"

	"github.com/acp-serverless/acp-serverless/shared/wiring"
)

const uuid = "3f2b6c1e-8d4a-4c2f-9b1e-5a7d9c0e1f23"

var base = map[string]string{"ACRONIS_TOKEN_SECRET_ID": "tok", "TOKEN_REFRESH_FUNCTION": "refresh", "DATA_BUCKET": "data"}

// Every variable: unset (default or missing), malformed, set.
func TestLoadConfig(t *testing.T) {
	yes := true
	envconfigtest.Run(t, LoadConfig, base, Config{Config: wiring.Config{Acronis: wiring.Acronis{TokenSecretID: "tok", RefreshFunction: "refresh"}, Bucket: "data"}}, []envconfigtest.Case[Config]{
		{"defaults", "", "", func(*Config) {}, ""},
		{"token secret missing", "ACRONIS_TOKEN_SECRET_ID", "", nil, "ACRONIS_TOKEN_SECRET_ID not set"},
		{"refresh function missing", "TOKEN_REFRESH_FUNCTION", "", nil, "TOKEN_REFRESH_FUNCTION not set"},
		{"bucket missing", "DATA_BUCKET", " ", nil, "DATA_BUCKET not set"},
		{"tenant set", "REPORT_TENANT_ID", uuid, func(c *Config) { c.TenantID = uuid }, ""},
		{"tenant malformed", "REPORT_TENANT_ID", "17", nil, `REPORT_TENANT_ID: report request: field "tenant_id": "17" is not a UUID`},
		{"level set", "REPORT_LEVEL", "accounts", func(c *Config) { c.Defaults.Level = "accounts" }, ""},
		{"level unknown", "REPORT_LEVEL", "everyone", nil, `REPORT_LEVEL: report request: field "level": "everyone"`},
		{"formats set, trimmed", "REPORT_FORMATS", " csv_v2_0 , html", func(c *Config) { c.Defaults.Formats = []string{"csv_v2_0", "html"} }, ""},
		{"formats blank", "REPORT_FORMATS", "  ", func(*Config) {}, ""},
		{"formats unknown", "REPORT_FORMATS", "pdf", nil, `REPORT_FORMATS: report request: field "formats": "pdf"`},
		{"formats twice", "REPORT_FORMATS", "csv,csv", nil, `REPORT_FORMATS: report request: field "formats": "csv" twice`},
		{"formats empty item", "REPORT_FORMATS", "csv,", nil, "REPORT_FORMATS"},
		{"formats never stored", "REPORT_FORMATS", "json_v2_0", nil, "REPORT_FORMATS"},
		{"show skus true", "REPORT_SHOW_SKUS", "true", func(c *Config) { c.Defaults.ShowSkus = &yes }, ""},
		{"show skus false is unset", "REPORT_SHOW_SKUS", "false", func(*Config) {}, ""},
		{"show skus malformed", "REPORT_SHOW_SKUS", "yes", nil, `REPORT_SHOW_SKUS: "yes" is not true or false`},
	})
}
