// Command report-download is the Lambda that creates an Acronis usage report,
// waits until it is stored and streams it into S3: monthly and daily on
// schedules, or by hand with a report request or {"report_id": "..."}.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/acp-serverless/acp-serverless/functions/report-download/handler"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/reports"
)

func main() {
	lambdafn.Start("report-download", func(ctx context.Context, log *slog.Logger) (func(context.Context, json.RawMessage) (reports.Result, error), error) {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		return handler.Build(cfg, os.Getenv, log)
	})
}
