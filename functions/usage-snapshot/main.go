// Command usage-snapshot is the Lambda that records every tenant's usage in
// S3: daily on a schedule with {}, or by hand with
// {"date": "YYYY-MM-DD", "root_tenant_id": "..."}.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/acp-serverless/acp-serverless/functions/usage-snapshot/handler"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/usage"
)

func main() {
	lambdafn.Start("usage-snapshot", func(ctx context.Context, log *slog.Logger) (func(context.Context, json.RawMessage) (usage.Result, error), error) {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		return handler.Build(cfg, os.Getenv, log)
	})
}
