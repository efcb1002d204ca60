// Command report-download is the Lambda that creates an Acronis usage report,
// waits until it is stored and streams it into S3: monthly and daily on
// schedules, or by hand with a report request or {"report_id": "..."}.
package main

import (
	"github.com/acp-serverless/acp-serverless/functions/report-download/handler"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
)

func main() { lambdafn.Main("report-download", handler.LoadConfig, handler.Build) }
