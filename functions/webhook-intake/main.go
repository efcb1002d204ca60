// Command webhook-intake is the Lambda behind POST /webhooks/crm: it verifies
// a signed CRM event, records its id and puts it on the provisioning queue,
// answering within seconds. It holds the webhook key and nothing else; the
// tenant-provisioning worker does the work with the Acronis token.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/acp-serverless/acp-serverless/functions/webhook-intake/handler"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/aws/aws-lambda-go/events"
)

func main() {
	lambdafn.Start("webhook-intake", func(ctx context.Context, log *slog.Logger) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		return handler.Build(cfg, os.Getenv, log)
	})
}
