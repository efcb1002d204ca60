package tokenrefresh

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// InvokeLambda returns a RefreshFunc that invokes the token-refresh function
// synchronously and fails if the function failed.
func InvokeLambda(client *lambda.Client, functionName string) RefreshFunc {
	return func(ctx context.Context, req Request) error {
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
