package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/functions/report-download/handler"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/reports"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestMain(m *testing.M) { mototest.MainIAM(m) }

// Every sample event parses; the deployed wiring runs one against moto and the simulator.
func TestEvents(t *testing.T) {
	files, _ := filepath.Glob("../../events/report-download*.json")
	if len(files) < 4 {
		t.Fatalf("sample events: %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		// Today, and a year from now: a sample event must not go stale.
		for _, now := range []time.Time{time.Now(), time.Now().AddDate(1, 0, 0)} {
			if _, err := reports.ParseRequest(b, reports.Request{}, now); err != nil {
				t.Errorf("%s at %s: %v", f, now.Format(time.DateOnly), err)
			}
		}
	}
}

func TestHandler(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	sim := acronistest.NewServer(t, acronistest.Config{})
	sim.SetReportBehavior(acronistest.ReportBehavior{Size: 1 << 20})
	sim.GenerateTree(1, 3, 0) // the report's rows are the tree's customers
	id, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, id, secret)
	sm := awsenv.SecretsManager(moto.Config())
	tokenID, bucket := mototest.Name("token"), mototest.Name("data")
	stored := fmt.Sprintf(`{"access_token":%q,"expires_at":%q,"base_url":%q}`, tok, time.Now().Add(time.Hour).Format(time.RFC3339), sim.URL())
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(tokenID), SecretString: aws.String(stored)})
	if err != nil {
		t.Fatal(err)
	}
	s3c := awsenv.S3(moto.Config())
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ACRONIS_TOKEN_SECRET_ID": tokenID, "TOKEN_REFRESH_FUNCTION": "token-refresh", "DATA_BUCKET": bucket, "REPORT_FORMATS": "csv_v2_0"}
	var logs bytes.Buffer
	// Run as deployed: with the role SAM generates for the function.
	role := mototest.RoleConfig(t, "ReportDownloadFunction", mototest.Names{
		"AcronisTokenSecret":       aws.ToString(created.ARN),
		"TokenRefreshFunction.Arn": mototest.FunctionARN("token-refresh"),
		"DataBucket.Arn":           mototest.BucketARN(bucket),
		"AsyncFailureQueue.Arn":    mototest.QueueARN(mototest.Name("async")),
	})
	h, err := lambdafn.FromEnv(role, func(k string) string { return env[k] }, handler.LoadConfig, handler.Build, lambdafn.Logger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	handler := lambda.NewHandler(h)
	lctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "t"})
	lctx, cancel := context.WithTimeout(lctx, 5*time.Minute)
	defer cancel()
	payload, _ := os.ReadFile("../../events/report-download-daily.json")
	out, err := handler.Invoke(lctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var res reports.Result
	_ = json.Unmarshal(out, &res)
	if res.Status != "stored" || len(res.Objects) != 1 {
		t.Fatalf("result %s", out)
	}
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(res.Objects[0].Key)})
	content, cerr := sim.StoredReportContent(res.ReportID, "csv_v2_0")
	if cerr != nil {
		t.Fatal(cerr)
	}
	want, _ := io.Copy(io.Discard, content) // 1 MiB rounded up to a whole row
	if err != nil || aws.ToInt64(head.ContentLength) != want || want < 1<<20 || head.Metadata["tenant-id"] != sim.RootTenantID() {
		t.Fatalf("object: %v %v", head, err)
	}
	if strings.Contains(logs.String(), tok) {
		t.Fatal("the access token is in the logs")
	}
	if n := sim.CountRequests("POST", acronis.TokenPath); n != 1 {
		t.Fatalf("%d token requests: the function minted its own token", n)
	}
}

func TestBadConfiguration(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantErr string
	}{
		{map[string]string{}, "ACRONIS_TOKEN_SECRET_ID, TOKEN_REFRESH_FUNCTION"},
		{map[string]string{"ACRONIS_TOKEN_SECRET_ID": "t", "TOKEN_REFRESH_FUNCTION": "f", "DATA_BUCKET": "b", "REPORT_FORMATS": "pdf"}, `field "formats"`},
		{map[string]string{"ACRONIS_TOKEN_SECRET_ID": "t", "TOKEN_REFRESH_FUNCTION": "f", "DATA_BUCKET": "b", "REPORT_SHOW_SKUS": "yes"}, "REPORT_SHOW_SKUS"},
		{map[string]string{"ACRONIS_TOKEN_SECRET_ID": "t", "TOKEN_REFRESH_FUNCTION": "f", "DATA_BUCKET": "b", "REPORT_TENANT_ID": "17"}, `field "tenant_id"`},
	}
	for _, tt := range tests {
		_, err := handler.LoadConfig(func(k string) string { return tt.env[k] })
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("env %v: err %v, want %q", tt.env, err, tt.wantErr)
		}
	}
}
