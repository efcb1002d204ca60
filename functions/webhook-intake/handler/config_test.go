package handler

import (
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/envconfig/envconfigtest"
)

const fifo = "https://sqs.eu-central-1.amazonaws.com/1/prov.fifo"

var base = map[string]string{"WEBHOOK_SECRET_ID": "hook", "PROVISIONING_TABLE": "prov", "PROVISIONING_QUEUE_URL": fifo}

// Every variable: missing, malformed, set.
func TestLoadConfig(t *testing.T) {
	envconfigtest.Run(t, LoadConfig, base, Config{SecretID: "hook", Table: "prov", QueueURL: fifo}, []envconfigtest.Case[Config]{
		{"all set", "", "", func(*Config) {}, ""},
		{"trimmed", "WEBHOOK_SECRET_ID", " hook2 ", func(c *Config) { c.SecretID = "hook2" }, ""},
		{"secret missing", "WEBHOOK_SECRET_ID", "", nil, "WEBHOOK_SECRET_ID not set"},
		{"table missing", "PROVISIONING_TABLE", "", nil, "PROVISIONING_TABLE not set"},
		{"queue missing", "PROVISIONING_QUEUE_URL", "", nil, "PROVISIONING_QUEUE_URL not set"},
		{"queue not FIFO", "PROVISIONING_QUEUE_URL", "https://sqs.eu-central-1.amazonaws.com/1/prov", nil, "PROVISIONING_QUEUE_URL: \"https://sqs.eu-central-1.amazonaws.com/1/prov\" is not a FIFO queue"},
	})
}
