// Lists CBR policies with the project's own client.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
)

func main() {
	creds := huaweicbr.Credentials{ProjectID: os.Getenv("CBR_PROJECT"), AccessKey: os.Getenv("CBR_AK"), SecretKey: os.Getenv("CBR_SK"), Endpoint: os.Getenv("CBR_ENDPOINT")}
	pols, err := huaweicbr.New(creds, nil).ListPolicies(context.Background(), "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(len(pols), "policies")
}
