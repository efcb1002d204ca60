// Command tenant-provisioning is the Lambda behind POST /webhooks/crm: it
// accepts signed CRM events and queues them (answering within seconds), and
// as the queue's consumer runs them. The on-call engineer can also invoke it
// with a plain event: `aws lambda invoke --payload file://events/provisioning-created.json`.
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
