package usage_test

import (
	"context"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func newS3Store(t *testing.T, moto *mototest.Server) *objstore.S3 {
	t.Helper()
	client := awsenv.S3(moto.Config())
	bucket := mototest.Name("usage")
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return &objstore.S3{Client: client, Bucket: bucket}
}
