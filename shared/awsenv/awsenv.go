// Package awsenv loads the AWS SDK configuration the functions share. The SDK
// already honours AWS_ENDPOINT_URL; this adds path-style S3 whenever an
// endpoint is overridden (moto, local stacks), which virtual-host style S3
// cannot reach.
package awsenv

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Load reads the default configuration (region, credentials, endpoint).
// A non-empty endpoint overrides AWS_ENDPOINT_URL.
func Load(ctx context.Context, endpoint string) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsenv: load config: %w", err)
	}
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}

// Endpoint is the overriding endpoint in force ("" on real AWS).
func Endpoint(cfg aws.Config) string {
	if cfg.BaseEndpoint != nil {
		return *cfg.BaseEndpoint
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}

// S3 builds an S3 client, path-style when the endpoint is overridden.
func S3(cfg aws.Config) *s3.Client {
	pathStyle := Endpoint(cfg) != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
}

// SecretsManager builds a Secrets Manager client.
func SecretsManager(cfg aws.Config) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg)
}
