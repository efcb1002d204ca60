// Command token-refresh is the Lambda that trades the API client's id and
// secret for an access token and keeps it in Secrets Manager.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/acp-serverless/acp-serverless/functions/token-refresh/handler"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
)

func main() {
	lambdafn.Start("token-refresh", func(ctx context.Context, log *slog.Logger) (func(context.Context, tokenrefresh.Request) (tokenrefresh.Result, error), error) {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		return handler.Build(cfg, os.Getenv, log)
	})
}
