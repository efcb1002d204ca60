package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/functions/usage-snapshot/handler"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
	"github.com/acp-serverless/acp-serverless/shared/usage"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// IAM enforced: the handler runs with the credentials of the role SAM
// generates for UsageSnapshotFunction.
func TestMain(m *testing.M) { mototest.MainIAM(m) }

// The deployed wiring, invoked the way Lambda does, over the sample events,
// against moto (Secrets Manager, S3) and the simulator.
func TestHandlerOverEvents(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	sim := acronistest.NewServer(t, acronistest.Config{PageCap: 20})
	ids := sim.GenerateTree(2, 5, 1)
	id, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, id, secret)
	stored, _ := json.Marshal(tokenrefresh.StoredToken{AccessToken: tok, ExpiresAt: time.Now().Add(time.Hour).UTC(), BaseURL: sim.URL()})
	tokenID, bucket := mototest.Name("token"), mototest.Name("data")
	created, err := awsenv.SecretsManager(moto.Config()).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(tokenID), SecretString: aws.String(string(stored))})
	if err != nil {
		t.Fatal(err)
	}
	s3c := awsenv.S3(moto.Config())
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	role := mototest.RoleConfig(t, "UsageSnapshotFunction", mototest.Names{
		"AcronisTokenSecret":       aws.ToString(created.ARN),
		"TokenRefreshFunction.Arn": mototest.FunctionARN("token-refresh"),
		"DataBucket.Arn":           mototest.BucketARN(bucket),
		"AsyncFailureQueue.Arn":    mototest.QueueARN(mototest.Name("async")),
	})
	var logs bytes.Buffer
	env := map[string]string{"ACRONIS_TOKEN_SECRET_ID": tokenID, "TOKEN_REFRESH_FUNCTION": "token-refresh", "DATA_BUCKET": bucket, "ACRONIS_MAX_RPS": "200"}
	h, err := lambdafn.FromEnv(role, func(k string) string { return env[k] }, handler.LoadConfig, handler.Build, lambdafn.Logger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	handler := lambda.NewHandler(lambdafn.Handle(lambdafn.Logger(&logs), "usage-snapshot", h))
	lctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "test"})
	today := time.Now().UTC().Format(time.DateOnly)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	rerun, err := os.ReadFile("../../events/usage-snapshot-rerun.json")
	if err != nil {
		t.Fatal(err)
	}
	// The sample says "yesterday" and works as it is; a root is added by hand.
	byHand := strings.TrimSuffix(strings.TrimSpace(string(rerun)), "}") + `, "root_tenant_id": "` + ids[0] + `"}`
	schedule, err := os.ReadFile("../../events/usage-snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		payload     []byte
		wantRoot    string
		wantTenants int64
		wantDate    string
		wantErr     string
	}{
		{"schedule", schedule, sim.RootTenantID(), int64(len(ids) + 1), today, ""},
		{"sample re-run as it is", rerun, sim.RootTenantID(), int64(len(ids) + 1), yesterday, ""},
		{"by hand", []byte(byHand), ids[0], int64(len(ids) / 2), yesterday, ""},
		{"bad date", []byte(`{"date":"last week"}`), "", 0, "", `field "date"`},
		{"bad root", []byte(`{"root_tenant_id":"42"}`), "", 0, "", `field "root_tenant_id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := handler.Invoke(lctx, tt.payload)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var res usage.Result
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			if !res.Complete || res.RootTenantID != tt.wantRoot || res.Tenants != tt.wantTenants || res.Date != tt.wantDate {
				t.Fatalf("result %s", out)
			}
			if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(res.Manifest)}); err != nil {
				t.Fatalf("manifest %s: %v", res.Manifest, err)
			}
		})
	}
	if strings.Contains(logs.String(), tok) {
		t.Fatal("the access token is in the logs")
	}
}

func TestBuildChecksConfiguration(t *testing.T) {
	base := map[string]string{"ACRONIS_TOKEN_SECRET_ID": "t", "TOKEN_REFRESH_FUNCTION": "f", "DATA_BUCKET": "b"}
	tests := []struct {
		name, key, value, want string
	}{
		{"missing", "DATA_BUCKET", "", "DATA_BUCKET"},
		{"bad root", "ROOT_TENANT_ID", "acme", "ROOT_TENANT_ID"},
		{"bad rate", "ACRONIS_MAX_RPS", "fast", "ACRONIS_MAX_RPS"},
		{"zero workers", "USAGE_WORKERS", "0", "USAGE_WORKERS"},
		{"fractional workers", "USAGE_WORKERS", "2.5", "USAGE_WORKERS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			env[tt.key] = tt.value
			_, err := handler.LoadConfig(func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}
