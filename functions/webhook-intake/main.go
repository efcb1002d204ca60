// Command webhook-intake is the Lambda behind POST /webhooks/crm: it verifies
// a signed CRM event, records its id and puts it on the provisioning queue,
// answering within seconds. It holds the webhook key and nothing else; the
// tenant-provisioning worker does the work with the Acronis token.
package main

import (
	"github.com/acp-serverless/acp-serverless/functions/webhook-intake/handler"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
)

func main() { lambdafn.Main("webhook-intake", handler.LoadConfig, handler.Build) }
