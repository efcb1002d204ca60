// Command policy-audit is the Lambda that audits backup and protection
// policies on Acronis and Huawei Cloud CBR: hourly on a schedule with {}, or
// by hand for some tenants or one provider.
package main

import (
	"github.com/acp-serverless/acp-serverless/functions/policy-audit/handler"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
)

func main() { lambdafn.Main("policy-audit", handler.LoadConfig, handler.Build) }
