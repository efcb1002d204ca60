// Command usage-snapshot is the Lambda that records every tenant's usage in
// S3: daily on a schedule with {}, or by hand with
// {"date": "YYYY-MM-DD", "root_tenant_id": "..."}.
package main

import (
	"github.com/acp-serverless/acp-serverless/functions/usage-snapshot/handler"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
)

func main() { lambdafn.Main("usage-snapshot", handler.LoadConfig, handler.Build) }
