package main

import (
	"context"
	"fmt"
	"io"

	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// useMoto points the demo at a moto_server it starts: real SDK clients, real
// Secrets Manager and S3 APIs, no AWS account. The secrets are created the
// way the template creates them.
func (d *demo) useMoto(ctx context.Context, w io.Writer) (stop func(), err error) {
	m, err := mototest.Start()
	if err != nil {
		return nil, err
	}
	cfg := m.Config()
	sm := awsenv.SecretsManager(cfg)
	for _, id := range []string{d.clientSecretID, d.tokenSecretID} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String("{}")}); err != nil {
			m.Stop()
			return nil, fmt.Errorf("moto: create secret %s: %w", id, err)
		}
	}
	const bucket = "acp-serverless-demo"
	s3c := awsenv.S3(cfg)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		m.Stop()
		return nil, fmt.Errorf("moto: create bucket: %w", err)
	}
	d.secrets = &secrets.SecretsManager{Client: sm}
	d.bucket = &objstore.S3{Client: s3c, Bucket: bucket}
	fmt.Fprintf(w, "moto_server at %s (Secrets Manager, S3 bucket %s)\n", m.Endpoint, bucket)
	return m.Stop, nil
}
