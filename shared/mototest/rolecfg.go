package mototest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The template, translated once per test binary (about a second of Python).
var translated = sync.OnceValues(func() (*Translated, error) { return Translate(context.Background()) })

// Template returns the repository's template.yaml after the SAM transform,
// translated once per test binary.
func Template(t testing.TB) *Translated {
	t.Helper()
	tr, err := translated()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// RoleConfig is the one call a wiring test needs to run function fn (a
// logical id, "UsageSnapshotFunction") as deployed: an SDK configuration
// with the credentials of the role SAM generates for it, on the
// IAM-enforcing server MainIAM started. names maps every !Ref and !GetAtt
// the role's statements use onto the test's resources (build ARNs with
// SecretARN's output, TableARN, QueueARN, BucketARN, FunctionARN); a
// missing one fails the test naming it. Create the resources with the
// admin's Get(t).Config().
func RoleConfig(t testing.TB, fn string, names Names) aws.Config {
	t.Helper()
	cfg, _, err := Get(t).FunctionRole(context.Background(), Template(t), fn, names)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TableARN is the ARN moto gives DynamoDB table name.
func TableARN(name string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, Account, name)
}

// QueueARN is the ARN moto gives SQS queue name.
func QueueARN(name string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", Region, Account, name)
}

// BucketARN is the ARN of S3 bucket name.
func BucketARN(name string) string { return "arn:aws:s3:::" + name }

// FunctionARN is the ARN of Lambda function name.
func FunctionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Region, Account, name)
}
