// Package wiring builds, from one aws.Config and the part of a function's
// configuration that names them, the dependencies the functions share: the
// cached Secrets Manager store, the Acronis token source, the data bucket and
// the root tenant. It is separate from lambdafn so that a function links
// only the AWS clients it uses.
package wiring

import (
	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/envconfig"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// Acronis names the token every function that calls Acronis uses.
type Acronis struct {
	TokenSecretID   string // ACRONIS_TOKEN_SECRET_ID: where token-refresh keeps the token
	RefreshFunction string // TOKEN_REFRESH_FUNCTION: asked for a new token when needed
}

// ReadAcronis reads ACRONIS_TOKEN_SECRET_ID and TOKEN_REFRESH_FUNCTION (both required).
func ReadAcronis(env *envconfig.Env) Acronis {
	return Acronis{TokenSecretID: env.Required("ACRONIS_TOKEN_SECRET_ID"), RefreshFunction: env.Required("TOKEN_REFRESH_FUNCTION")}
}

// Read reads the Acronis token variables and DATA_BUCKET (all required):
// what the jobs that write to the bucket share.
func Read(env *envconfig.Env) Config {
	return Config{Acronis: ReadAcronis(env), Bucket: env.Required("DATA_BUCKET")}
}

// Config is the shared part of a function's configuration; zero fields
// are not wired.
type Config struct {
	Acronis Acronis
	Bucket  string
}

// Deps are the shared dependencies of one function.
type Deps struct {
	cfg     aws.Config
	bucket  string
	Secrets *secrets.Cached            // Secrets Manager, cached for secrets.CacheTTL
	Tokens  *tokenrefresh.SecretSource // nil without Config.Acronis
}

// Wire builds the dependencies c names. Build the Acronis client with
// Tokens.Client at invocation time.
func Wire(cfg aws.Config, c Config) Deps {
	d := Deps{cfg: cfg, bucket: c.Bucket, Secrets: secretStore(cfg)}
	if c.Acronis != (Acronis{}) {
		d.Tokens = &tokenrefresh.SecretSource{
			Secrets:       d.Secrets,
			TokenSecretID: c.Acronis.TokenSecretID,
			Refresh:       InvokeTokenRefresh(lambda.NewFromConfig(cfg), c.Acronis.RefreshFunction),
		}
	}
	return d
}

// Bucket is Config.Bucket as an object store (nil without one). A method,
// not a field Wire fills, so that a function without a bucket does not link
// the S3 client (0.7 MiB).
func (d Deps) Bucket() *objstore.S3 {
	if d.bucket == "" {
		return nil
	}
	return &objstore.S3{Client: awsenv.S3(d.cfg), Bucket: d.bucket}
}

func secretStore(cfg aws.Config) *secrets.Cached {
	return &secrets.Cached{Store: &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)}, TTL: secrets.CacheTTL}
}

// RootTenant is where a tenant walk starts: the request's tenant, else
// configured (ROOT_TENANT_ID, REPORT_TENANT_ID; "" for none), else the
// tenant of the API client that owns the token.
func (d Deps) RootTenant(configured string) acronis.RootTenant {
	r := acronis.RootTenant{ID: configured}
	if d.Tokens != nil {
		r.Owner = acronis.TokenOwner(d.Tokens)
	}
	return r
}
