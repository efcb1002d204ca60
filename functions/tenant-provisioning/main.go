// Command tenant-provisioning is the provisioning queue's worker: it runs the
// CRM events webhook-intake queued, in order per customer (FIFO groups), with
// the Acronis token. The on-call engineer can also invoke it with a plain
// event: `aws lambda invoke --payload file://events/provisioning-created.json`.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/acp-serverless/acp-serverless/functions/tenant-provisioning/handler"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
)

func main() {
	lambdafn.Start("tenant-provisioning", func(ctx context.Context, log *slog.Logger) (func(context.Context, json.RawMessage) (any, error), error) {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		return handler.Build(cfg, os.Getenv, log)
	})
}
