// Command token-refresh is the Lambda that trades the API client's id and
// secret for an access token and keeps it in Secrets Manager.
package main

import (
	"github.com/acp-serverless/acp-serverless/functions/token-refresh/handler"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
)

func main() { lambdafn.Main("token-refresh", handler.LoadConfig, handler.Build) }
