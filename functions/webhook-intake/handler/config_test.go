package handler

import (
	"maps"
	"strings"
	"testing"
)

const fifo = "https://sqs.eu-central-1.amazonaws.com/1/prov.fifo"

var base = map[string]string{"WEBHOOK_SECRET_ID": "hook", "PROVISIONING_TABLE": "prov", "PROVISIONING_QUEUE_URL": fifo}

// Every variable: missing, malformed, set.
func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name, key, value string
		want             Config
		wantErr          string
	}{
		{"all set", "", "", Config{SecretID: "hook", Table: "prov", QueueURL: fifo}, ""},
		{"trimmed", "WEBHOOK_SECRET_ID", " hook2 ", Config{SecretID: "hook2", Table: "prov", QueueURL: fifo}, ""},
		{"secret missing", "WEBHOOK_SECRET_ID", "", Config{}, "WEBHOOK_SECRET_ID not set"},
		{"table missing", "PROVISIONING_TABLE", "", Config{}, "PROVISIONING_TABLE not set"},
		{"queue missing", "PROVISIONING_QUEUE_URL", "", Config{}, "PROVISIONING_QUEUE_URL not set"},
		{"queue not FIFO", "PROVISIONING_QUEUE_URL", "https://sqs.eu-central-1.amazonaws.com/1/prov", Config{}, "PROVISIONING_QUEUE_URL: \"https://sqs.eu-central-1.amazonaws.com/1/prov\" is not a FIFO queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := maps.Clone(base)
			if tt.key != "" {
				env[tt.key] = tt.value
			}
			got, err := LoadConfig(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v, want %+v", got, err, tt.want)
			}
		})
	}
}
