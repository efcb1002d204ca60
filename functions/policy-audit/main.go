// Command policy-audit is the Lambda that audits backup and protection
// policies on Acronis and Huawei Cloud CBR: hourly on a schedule with {}, or
// by hand for some tenants or one provider.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/acp-serverless/acp-serverless/functions/policy-audit/handler"
	"github.com/acp-serverless/acp-serverless/shared/audit"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
)

func main() {
	lambdafn.Start("policy-audit", func(ctx context.Context, log *slog.Logger) (func(context.Context, json.RawMessage) (audit.Result, error), error) {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		return handler.Build(cfg, os.Getenv, log)
	})
}
