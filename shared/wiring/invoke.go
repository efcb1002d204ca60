package wiring

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// InvokeTokenRefresh returns a RefreshFunc that invokes the token-refresh
// function synchronously and fails if the function failed. It lives here,
// not in tokenrefresh, so token-refresh itself does not link the Lambda client.
func InvokeTokenRefresh(client *lambda.Client, functionName string) tokenrefresh.RefreshFunc {
	return func(ctx context.Context, req tokenrefresh.Request) error {
		payload, err := json.Marshal(req)
		if err != nil {
			return err
		}
		out, err := client.Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String(functionName), InvocationType: ltypes.InvocationTypeRequestResponse, Payload: payload,
		})
		if err != nil {
			return fmt.Errorf("invoke %s: %w", functionName, err)
		}
		if out.FunctionError != nil {
			var e struct {
				ErrorMessage string `json:"errorMessage"`
			}
			_ = json.Unmarshal(out.Payload, &e)
			return fmt.Errorf("invoke %s: function error %s: %s", functionName, aws.ToString(out.FunctionError), e.ErrorMessage)
		}
		return nil
	}
}
