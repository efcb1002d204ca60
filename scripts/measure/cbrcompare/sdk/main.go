// Lists CBR policies with the official SDK's cbr v1 client.
package main

import (
	"fmt"
	"os"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	cbr "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/cbr/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/cbr/v1/model"
)

func main() {
	creds, err := basic.NewCredentialsBuilder().WithAk(os.Getenv("CBR_AK")).WithSk(os.Getenv("CBR_SK")).WithProjectId(os.Getenv("CBR_PROJECT")).SafeBuild()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hc, err := cbr.CbrClientBuilder().WithEndpoints([]string{os.Getenv("CBR_ENDPOINT")}).WithCredential(creds).SafeBuild()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	resp, err := cbr.NewCbrClient(hc).ListPolicies(&model.ListPoliciesRequest{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if resp.Policies != nil {
		fmt.Println(len(*resp.Policies), "policies")
	}
}
