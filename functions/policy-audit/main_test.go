package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/functions/policy-audit/handler"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/audit"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr/cbrtest"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func TestMain(m *testing.M) { mototest.MainIAM(m) }

func TestEventsParse(t *testing.T) {
	files, _ := filepath.Glob("../../events/policy-audit*.json")
	if len(files) < 3 {
		t.Fatalf("events %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if _, err := audit.ParseRequest(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// The deployed wiring against moto (Secrets Manager, S3, SNS) and both simulators.
func TestHandler(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Get(t)
	sim := acronistest.NewServer(t, acronistest.Config{})
	cust := sim.AddTenant(acronistest.TenantSpec{Name: "Customer A", Kind: "customer"})
	sim.AddResources(cust, 40, 1)
	cbr := cbrtest.NewServer(t, cbrtest.Config{})
	cbr.Populate(1, 10, 4)
	id, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, id, secret)
	cfg := moto.Config()
	sm := awsenv.SecretsManager(cfg)
	tokenID, cbrID, badCBR, bucket := mototest.Name("token"), mototest.Name("cbr"), mototest.Name("cbr-bad"), mototest.Name("data")
	cbrCreds, _ := json.Marshal(cbr.Credentials())
	arns := map[string]string{}
	for name, v := range map[string]string{
		tokenID: fmt.Sprintf(`{"access_token":%q,"expires_at":%q,"base_url":%q}`, tok, time.Now().Add(time.Hour).Format(time.RFC3339), sim.URL()),
		cbrID:   string(cbrCreds), badCBR: `{"region":"x"}`,
	} {
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(v)})
		if err != nil {
			t.Fatal(err)
		}
		arns[name] = aws.ToString(out.ARN)
	}
	s3c := awsenv.S3(cfg)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	topic, _ := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(mototest.Name("audit"))})
	tests := []struct {
		name, event, cbrSecret string
		wantErr                string
		check                  func(t *testing.T, res audit.Result)
	}{
		{"both providers", "policy-audit.json", cbrID, "", func(t *testing.T, res audit.Result) {
			if res.Providers["acronis"].Status != "ok" || res.Providers["huaweicbr"].Status != "ok" || !res.Notified {
				t.Fatalf("%+v", res)
			}
		}},
		{"no CBR secret: Acronis only, and it says so", "policy-audit.json", "", "", func(t *testing.T, res audit.Result) {
			if res.Providers["huaweicbr"].Status != "skipped: HUAWEI_CBR_SECRET_ID is not set" {
				t.Fatalf("%+v", res.Providers)
			}
		}},
		{"broken CBR secret: partial, named", "policy-audit.json", badCBR, `huaweicbr (secret ` + badCBR, nil},
		{"CBR only", "policy-audit-huaweicbr.json", cbrID, "", func(t *testing.T, res audit.Result) {
			if res.Providers["acronis"].Status != "skipped: not requested" || res.Findings == 0 {
				t.Fatalf("%+v", res)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"ACRONIS_TOKEN_SECRET_ID": tokenID, "TOKEN_REFRESH_FUNCTION": "token-refresh", "DATA_BUCKET": bucket,
				"AUDIT_TOPIC_ARN": aws.ToString(topic.TopicArn), "HUAWEI_CBR_SECRET_ID": tt.cbrSecret, "ROOT_TENANT_ID": sim.RootTenantID()}
			var logs bytes.Buffer
			// Run as deployed: with the role SAM generates for the
			// function, its CBR secret grant included when one is set.
			role := mototest.RoleConfig(t, "PolicyAuditFunction", mototest.Names{
				"AcronisTokenSecret":       arns[tokenID],
				"HuaweiCbrSecretArn":       arns[tt.cbrSecret],
				"TokenRefreshFunction.Arn": mototest.FunctionARN("token-refresh"),
				"DataBucket.Arn":           mototest.BucketARN(bucket),
				"AuditTopic":               aws.ToString(topic.TopicArn),
				"AsyncFailureQueue.Arn":    mototest.QueueARN(mototest.Name("async")),
			})
			h, err := lambdafn.FromEnv(role, func(k string) string { return env[k] }, handler.LoadConfig, handler.Build, lambdafn.Logger(&logs))
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := os.ReadFile("../../events/" + tt.event)
			out, err := lambda.NewHandler(h).Invoke(lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "t"}), payload)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), cbr.Credentials().SecretKey) {
				t.Fatal("a secret reached the logs")
			}
			var res audit.Result
			if err := json.Unmarshal(out, &res); err != nil && tt.wantErr == "" {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
			if tt.wantErr == "" {
				for _, obj := range []string{"findings.jsonl.gz", "summary.json", "report.html"} {
					if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(res.Prefix + obj)}); err != nil {
						t.Fatalf("%s%s: %v", res.Prefix, obj, err)
					}
				}
			}
		})
	}
}

func TestBadConfiguration(t *testing.T) {
	base := map[string]string{"ACRONIS_TOKEN_SECRET_ID": "t", "TOKEN_REFRESH_FUNCTION": "f", "DATA_BUCKET": "b"}
	tests := []struct{ key, value, want string }{
		{"AUDIT_MAX_INTERVAL_HOURS", "a day", "AUDIT_MAX_INTERVAL_HOURS"},
		{"AUDIT_MIN_RETENTION_DAYS", "-3", "AUDIT_MIN_RETENTION_DAYS"},
		{"ROOT_TENANT_ID", "17", "ROOT_TENANT_ID"},
		{"AUDIT_WRITE_RESERVE_SECONDS", "0", "AUDIT_WRITE_RESERVE_SECONDS"},
		{"AUDIT_WRITE_RESERVE_SECONDS", "1.5", "AUDIT_WRITE_RESERVE_SECONDS"},
		{"AUDIT_RENOTIFY_HOURS", "-1", "AUDIT_RENOTIFY_HOURS"},
		{"AUDIT_RENOTIFY_HOURS", "NaN", "AUDIT_RENOTIFY_HOURS"},
		{"AUDIT_MAX_HOURS_WITHOUT_SUCCESS", "0", "AUDIT_MAX_HOURS_WITHOUT_SUCCESS"},
		{"AUDIT_AGENT_OFFLINE_HOURS", "NaN", "AUDIT_AGENT_OFFLINE_HOURS"},
	}
	for _, tt := range tests {
		env := map[string]string{tt.key: tt.value}
		for k, v := range base {
			env[k] = v
		}
		if _, err := handler.LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%s: err %v", tt.key, tt.value, err)
		}
	}
}
