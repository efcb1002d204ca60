package mototest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Requests moto serves before it enforces IAM: the three that create the
// admin user (CreateUser, PutUserPolicy, CreateAccessKey).
const noAuthRequests = 3

const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// StartIAM launches moto_server with IAM enforcement on: after its first
// noAuthRequests requests (INITIAL_NO_AUTH_ACTION_COUNT), every request is
// authorized against the IAM policies of its caller. Those first requests
// create an admin user whose keys Config returns; functions run under the
// roles FunctionRole creates. The server is started through
// moto_iam_server.py, which gives Secrets Manager, DynamoDB and SNS calls
// their resource ARN (moto checks them against "*" otherwise).
func StartIAM() (*Server, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("mototest: cannot locate moto_iam_server.py")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, fmt.Errorf("mototest: moto_server not found on PATH (install Python moto[server] 5): %w", err)
	}
	s, err := start([]string{"python3", filepath.Join(filepath.Dir(self), "moto_iam_server.py")},
		[]string{fmt.Sprintf("INITIAL_NO_AUTH_ACTION_COUNT=%d", noAuthRequests), "MOTO_IAM_LOAD_MANAGED_POLICIES=true"})
	if err != nil {
		return nil, err
	}
	if err := s.createAdmin(context.Background()); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) createAdmin(ctx context.Context) error {
	c := iam.NewFromConfig(s.Config())
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("admin")}); err != nil {
		return fmt.Errorf("mototest: create admin user: %w", err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("admin"), PolicyName: aws.String("all"), PolicyDocument: aws.String(allowAll)}); err != nil {
		return fmt.Errorf("mototest: admin policy: %w", err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("admin")})
	if err != nil {
		return fmt.Errorf("mototest: admin access key: %w", err)
	}
	s.admin = &aws.Credentials{AccessKeyID: aws.ToString(key.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(key.AccessKey.SecretAccessKey)}
	return nil
}
