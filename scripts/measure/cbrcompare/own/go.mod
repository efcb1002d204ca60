module cbrmeasure/own

go 1.26.0

require github.com/acp-serverless/acp-serverless v0.0.0

replace github.com/acp-serverless/acp-serverless => ../../../..
