// Command tenant-provisioning is the provisioning queue's worker: it runs the
// CRM events webhook-intake queued, in order per customer (FIFO groups), with
// the Acronis token. The on-call engineer can also invoke it with a plain
// event: `aws lambda invoke --payload file://events/provisioning-created.json`.
package main

import (
	"github.com/acp-serverless/acp-serverless/functions/tenant-provisioning/handler"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
)

func main() { lambdafn.Main("tenant-provisioning", handler.LoadConfig, handler.Build) }
