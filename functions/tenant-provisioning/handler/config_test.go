package handler

import (
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/envconfig/envconfigtest"

	"github.com/acp-serverless/acp-serverless/shared/provisioning"
	"github.com/acp-serverless/acp-serverless/shared/wiring"
)

const (
	parent = "5b15f6e1-88ec-4dce-b523-0e8394c0bc19"
	infra  = "3f2b6c1e-8d4a-4c2f-9b1e-5a7d9c0e1f23"
)

var base = map[string]string{"ACRONIS_TOKEN_SECRET_ID": "tok", "TOKEN_REFRESH_FUNCTION": "refresh", "PROVISIONING_TABLE": "prov", "PARENT_TENANT_ID": parent}

// Every variable: unset (default or missing), malformed, set.
func TestLoadConfig(t *testing.T) {
	envconfigtest.Run(t, LoadConfig, base, Config{Config: wiring.Config{Acronis: wiring.Acronis{TokenSecretID: "tok", RefreshFunction: "refresh"}}, Table: "prov",
		Provisioning: provisioning.Config{ParentTenantID: parent}}, []envconfigtest.Case[Config]{
		{"defaults", "", "", func(*Config) {}, ""},
		{"token secret missing", "ACRONIS_TOKEN_SECRET_ID", "", nil, "ACRONIS_TOKEN_SECRET_ID not set"},
		{"refresh function missing", "TOKEN_REFRESH_FUNCTION", "", nil, "TOKEN_REFRESH_FUNCTION not set"},
		{"table missing", "PROVISIONING_TABLE", "", nil, "PROVISIONING_TABLE not set"},
		{"parent missing", "PARENT_TENANT_ID", "", nil, "PARENT_TENANT_ID not set"},
		{"parent malformed", "PARENT_TENANT_ID", "17", nil, `PARENT_TENANT_ID: "17" is not a UUID`},
		{"deletion allowed", "ALLOW_TENANT_DELETION", "true", func(c *Config) { c.Provisioning.AllowDeletion = true }, ""},
		{"deletion refused", "ALLOW_TENANT_DELETION", "false", func(*Config) {}, ""},
		{"deletion malformed", "ALLOW_TENANT_DELETION", "yes", nil, `ALLOW_TENANT_DELETION: "yes" is not true or false`},
		{"deletion capitalised", "ALLOW_TENANT_DELETION", "TRUE", nil, "ALLOW_TENANT_DELETION"},
		{"default role set", "DEFAULT_USER_ROLE", "company_admin", func(c *Config) { c.Provisioning.DefaultRole = "company_admin" }, ""},
		{"default role unknown", "DEFAULT_USER_ROLE", "root", nil, `DEFAULT_USER_ROLE: "root" is not in the platform's userRole list`},
		{"default role outside the enum", "DEFAULT_USER_ROLE", "backup_admin", nil, "DEFAULT_USER_ROLE"},
		{"PSA role set", "PSA_USER_ROLE", "backup_user", func(c *Config) { c.Provisioning.PSARole = "backup_user" }, ""},
		{"PSA role unknown", "PSA_USER_ROLE", "backup_admin", nil, "PSA_USER_ROLE"},
		{"storage set", "STORAGE_INFRA_ID", infra, func(c *Config) { c.Provisioning.StorageInfraID = infra }, ""},
		{"storage malformed", "STORAGE_INFRA_ID", "eu2", nil, `STORAGE_INFRA_ID: "eu2" is not a UUID`},
	})
}
