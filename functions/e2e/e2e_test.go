// Package e2e runs the five functions' deployed wiring in sequence against
// moto_server and the Acronis and Huawei CBR simulators, once cleanly and
// once with faults, and compares what they produced.
package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	audithandler "github.com/acp-serverless/acp-serverless/functions/policy-audit/handler"
	reporthandler "github.com/acp-serverless/acp-serverless/functions/report-download/handler"
	provhandler "github.com/acp-serverless/acp-serverless/functions/tenant-provisioning/handler"
	tokenhandler "github.com/acp-serverless/acp-serverless/functions/token-refresh/handler"
	usagehandler "github.com/acp-serverless/acp-serverless/functions/usage-snapshot/handler"
	intakehandler "github.com/acp-serverless/acp-serverless/functions/webhook-intake/handler"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr/cbrtest"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// moto enforces IAM here: every function runs with the credentials of the
// role SAM gives it in template.yaml (see roles).
func TestMain(m *testing.M) { mototest.MainIAM(m) }

const webhookKey = "e2e-webhook-signing-key-0123456789"

// outcome is what a full pass produced, in a form two passes can compare.
type outcome struct {
	Tenants       int
	Activations   int
	UsageTenants  int
	UsageItems    int
	UsageComplete bool
	ReportBytes   int64
	AuditFindings int
	AuditSeverity map[string]int
	AuditNotified bool
	TokenMints    int
	Objects       []string
}

// front answers Lambda Invoke for token-refresh in process (moto cannot run
// Lambda code without Docker) and passes every other AWS call to moto.
// An Invoke is answered only if the caller's role allows lambda:InvokeFunction
// on the function (the requests never reach moto, which would check it).
func front(t *testing.T, moto string, roles *roleSet, invoke func(ctx context.Context, name string, payload []byte) ([]byte, error)) string {
	target, _ := url.Parse(moto)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/"); ok && strings.HasSuffix(rest, "/invocations") {
			payload, _ := io.ReadAll(r.Body)
			name := strings.TrimSuffix(rest, "/invocations")
			if !roles.allows(r.Header.Get("Authorization"), "lambda:InvokeFunction", functionArn(name)) {
				w.WriteHeader(403)
				w.Write([]byte(`{"Type":"User","message":"AccessDeniedException: not authorized to perform lambda:InvokeFunction"}`))
				return
			}
			out, err := invoke(r.Context(), name, payload)
			if err != nil {
				w.Header().Set("X-Amz-Function-Error", "Unhandled")
				out, _ = json.Marshal(map[string]string{"errorMessage": err.Error()})
			}
			w.WriteHeader(200)
			w.Write(out)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func invoke(t *testing.T, h lambda.Handler, payload []byte, retries int) []byte {
	t.Helper()
	var err error
	for attempt := 0; attempt <= retries; attempt++ { // Lambda's and SQS's retries
		var out []byte
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprint("e2e-", attempt)})
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		out, err = h.Invoke(ctx, payload)
		cancel()
		if err == nil {
			return out
		}
	}
	t.Fatalf("invocation failed after %d retries: %v", retries, err)
	return nil
}

func pass(t *testing.T, faulty bool) outcome {
	ctx := context.Background()
	moto := mototest.Get(t)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))

	sim := acronistest.NewServer(t, acronistest.Config{Seed: 11, PageCap: 50})
	partner := sim.AddTenant(acronistest.TenantSpec{Name: "MSP Partner", Kind: "partner"})
	for _, id := range sim.GenerateTree(2, 6, 1) {
		if m, _ := sim.Tenant(id); m["kind"] == "customer" {
			sim.AddResources(id, 15, 3)
		}
	}
	sim.SetReportBehavior(acronistest.ReportBehavior{Size: 200 << 10}) // rounded up to a whole row
	cbr := cbrtest.NewServer(t, cbrtest.Config{Seed: 4})
	cbr.Populate(4, 20, 6)
	clientID, clientSecret := sim.AddAPIClient("")

	names := map[string]string{"client": mototest.Name("client"), "token": mototest.Name("token"), "webhook": mototest.Name("webhook"),
		"cbr": mototest.Name("cbr"), "bucket": mototest.Name("data"), "table": mototest.Name("prov"), "queue": mototest.Name("prov") + ".fifo", "topic": mototest.Name("audit")}
	var tokenRefresh lambda.Handler
	roles := &roleSet{}
	cfg := moto.Config() // the admin's: what the template creates
	cfg.BaseEndpoint = aws.String(front(t, moto.Endpoint, roles, func(ctx context.Context, name string, payload []byte) ([]byte, error) {
		if name != "token-refresh" {
			return nil, fmt.Errorf("no function %s", name)
		}
		return tokenRefresh.Invoke(ctx, payload)
	}))

	// What the template creates.
	sm := awsenv.SecretsManager(cfg)
	cbrCreds, _ := json.Marshal(cbr.Credentials())
	arns := map[string]string{}
	for id, v := range map[string]string{
		names["client"]:  fmt.Sprintf(`{"base_url":%q,"client_id":%q,"client_secret":%q}`, sim.URL(), clientID, clientSecret),
		names["token"]:   "{}",
		names["webhook"]: webhookKey,
		names["cbr"]:     string(cbrCreds),
	} {
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(v)})
		if err != nil {
			t.Fatal(err)
		}
		arns[id] = aws.ToString(out.ARN)
	}
	s3c := awsenv.S3(cfg)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(names["bucket"])}); err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.NewFromConfig(cfg).CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(names["table"]),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest}); err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(cfg)
	qo, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(names["queue"]),
		Attributes: map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "false"}})
	if err != nil {
		t.Fatal(err)
	}
	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(names["topic"])})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"ACRONIS_CLIENT_SECRET_ID": names["client"], "ACRONIS_TOKEN_SECRET_ID": names["token"], "TOKEN_REFRESH_FUNCTION": "token-refresh",
		"DATA_BUCKET": names["bucket"], "WEBHOOK_SECRET_ID": names["webhook"], "PROVISIONING_TABLE": names["table"],
		"PROVISIONING_QUEUE_URL": aws.ToString(qo.QueueUrl), "PARENT_TENANT_ID": partner, "HUAWEI_CBR_SECRET_ID": names["cbr"],
		"AUDIT_TOPIC_ARN": aws.ToString(topic.TopicArn), "REPORT_FORMATS": "csv_v2_0",
	}
	getenv := func(k string) string { return env[k] }
	// What the template's !Ref and !GetAtt name, as created above.
	tnames := mototest.Names{
		"AcronisClientSecret": arns[names["client"]], "AcronisTokenSecret": arns[names["token"]], "WebhookSecret": arns[names["webhook"]],
		"HuaweiCbrSecretArn": arns[names["cbr"]], "DataBucket": names["bucket"], "DataBucket.Arn": "arn:aws:s3:::" + names["bucket"],
		"ProvisioningTable": names["table"], "ProvisioningTable.Arn": "arn:aws:dynamodb:us-east-1:" + mototest.Account + ":table/" + names["table"],
		"ProvisioningQueue": aws.ToString(qo.QueueUrl), "ProvisioningQueue.Arn": "arn:aws:sqs:us-east-1:" + mototest.Account + ":" + names["queue"],
		"AuditTopic": aws.ToString(topic.TopicArn), "TokenRefreshFunction.Arn": functionArn("token-refresh"),
		// Destinations Lambda itself writes to; no function code sends there.
		"AsyncFailureQueue.Arn": "arn:aws:sqs:us-east-1:" + mototest.Account + ":async-failures",
	}
	as := func(fn string) aws.Config { return roles.config(t, cfg, fn, tnames) }

	th, err := lambdafn.FromEnv(as("TokenRefreshFunction"), getenv, tokenhandler.LoadConfig, tokenhandler.Build, log)
	if err != nil {
		t.Fatal(err)
	}
	tokenRefresh = lambda.NewHandler(th)
	ih, err := lambdafn.FromEnv(as("WebhookIntakeFunction"), getenv, intakehandler.LoadConfig, intakehandler.Build, log)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := lambdafn.FromEnv(as("TenantProvisioningFunction"), getenv, provhandler.LoadConfig, provhandler.Build, log)
	if err != nil {
		t.Fatal(err)
	}
	uh, err := lambdafn.FromEnv(as("UsageSnapshotFunction"), getenv, usagehandler.LoadConfig, usagehandler.Build, log)
	if err != nil {
		t.Fatal(err)
	}
	rh, err := lambdafn.FromEnv(as("ReportDownloadFunction"), getenv, reporthandler.LoadConfig, reporthandler.Build, log)
	if err != nil {
		t.Fatal(err)
	}
	ah, err := lambdafn.FromEnv(as("PolicyAuditFunction"), getenv, audithandler.LoadConfig, audithandler.Build, log)
	if err != nil {
		t.Fatal(err)
	}
	retries := 0
	if faulty {
		retries = 6
		sim.SetFaults(acronistest.Faults{Rate429: 0.15, Rate5xx: 0.08, RateDrop: 0.03, RateCut: 0.05, SkipTokenEP: true})
		cbr.SetFaults(cbrtest.Faults{Rate429: 0.15, Rate5xx: 0.1})
	}

	// 1. token-refresh on its schedule.
	invoke(t, tokenRefresh, mustRead(t, "token-refresh.json"), retries)
	if faulty {
		sim.ExpireTokens() // the token dies: the others must ask token-refresh again
	}
	// 2. the CRM's webhook, then the queue's delivery of it.
	body := mustRead(t, "provisioning-created.json")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /webhooks/crm", Body: string(body),
		Headers: map[string]string{"x-timestamp": ts, "x-signature": webhook.Sign([]byte(webhookKey), ts, body)}}
	req.RequestContext.HTTP.Method = "POST"
	reqJSON, _ := json.Marshal(req)
	var resp events.APIGatewayV2HTTPResponse
	json.Unmarshal(invoke(t, lambda.NewHandler(ih), reqJSON, 0), &resp)
	if resp.StatusCode != 202 {
		t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
	}
	msgs, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qo.QueueUrl, MaxNumberOfMessages: 10})
	if err != nil || len(msgs.Messages) != 1 {
		t.Fatalf("queue: %d messages, %v", len(msgs.Messages), err)
	}
	batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: aws.ToString(msgs.Messages[0].Body), EventSource: "aws:sqs"}}})
	for attempt := 0; ; attempt++ { // SQS redelivers reported failures
		var r events.SQSEventResponse
		json.Unmarshal(invoke(t, lambda.NewHandler(ph), batch, retries), &r)
		if len(r.BatchItemFailures) == 0 {
			break
		}
		if attempt == retries {
			t.Fatalf("provisioning never succeeded")
		}
	}
	// 3. the daily usage snapshot, 4. the daily report, 5. the hourly audit.
	var usage struct {
		Tenants  int  `json:"tenants"`
		Items    int  `json:"items"`
		Complete bool `json:"complete"`
	}
	json.Unmarshal(invoke(t, lambda.NewHandler(uh), []byte(`{}`), retries), &usage)
	var report struct {
		Objects []struct {
			Bytes int64 `json:"bytes"`
		} `json:"objects"`
	}
	json.Unmarshal(invoke(t, lambda.NewHandler(rh), mustRead(t, "report-download-daily.json"), retries), &report)
	var auditRes struct {
		Findings   int            `json:"findings"`
		BySeverity map[string]int `json:"by_severity"`
		Notified   bool           `json:"notified"`
	}
	json.Unmarshal(invoke(t, lambda.NewHandler(ah), mustRead(t, "policy-audit.json"), retries), &auditRes)

	o := outcome{UsageTenants: usage.Tenants, UsageItems: usage.Items, UsageComplete: usage.Complete,
		AuditFindings: auditRes.Findings, AuditSeverity: auditRes.BySeverity, AuditNotified: auditRes.Notified}
	children, injected := 0, 0
	for _, r := range sim.Requests() {
		if r.Status >= 429 || r.Status == -1 {
			injected++
		}
		if r.Method == "POST" && r.Path == "/api/2/idp/token" && r.Status == 200 {
			o.TokenMints++
		}
		if r.Method == "POST" && r.Path == "/api/2/tenants" && r.Status == 201 {
			children++
		}
	}
	o.Tenants = children
	if faulty && injected == 0 {
		t.Fatal("no fault was injected in the faulty pass")
	}
	if len(report.Objects) == 1 {
		o.ReportBytes = report.Objects[0].Bytes
	}
	o.Activations = sim.ActivationEmails("acme-logistics-admin")
	// Objects, by kind of key.
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(names["bucket"])})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range list.Contents {
		k := aws.ToString(obj.Key)
		o.Objects = append(o.Objects, strings.SplitN(k, "/", 2)[0]+"/"+lastSegment(k))
	}
	sort.Strings(o.Objects)
	// The token secret holds a token; no secret value reached a log line.
	tok, _ := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(names["token"])})
	var stored struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal([]byte(aws.ToString(tok.SecretString)), &stored)
	if stored.AccessToken == "" {
		t.Fatal("no token in the token secret")
	}
	for _, secret := range []string{clientSecret, stored.AccessToken, webhookKey, cbr.Credentials().SecretKey} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("a secret value reached the logs")
		}
	}
	// The audit's report is readable and names a customer.
	head, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(names["bucket"]), Key: aws.String(firstKey(list, "findings.jsonl.gz"))})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(head.Body)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := io.ReadAll(io.LimitReader(zr, 4096))
	head.Body.Close()
	if !bytes.Contains(first, []byte(`"provider"`)) {
		t.Fatalf("findings: %s", first)
	}
	return o
}

func lastSegment(k string) string {
	parts := strings.Split(k, "/")
	last := parts[len(parts)-1]
	switch {
	case strings.HasPrefix(last, "part-"):
		return "part"
	case strings.HasSuffix(last, ".v2.csv"):
		return "report.v2.csv"
	case strings.HasPrefix(k, "usage/runs/"):
		return "runs-index"
	case strings.HasPrefix(k, "reports/_pending/"):
		return "pending-record"
	}
	return last
}

func firstKey(list *s3.ListObjectsV2Output, suffix string) string {
	for _, o := range list.Contents {
		if strings.HasSuffix(aws.ToString(o.Key), suffix) {
			return aws.ToString(o.Key)
		}
	}
	return ""
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// All five in sequence, then again with faults: the same results.
func TestEndToEnd(t *testing.T) {
	clean := pass(t, false)
	want := outcome{Tenants: 1, Activations: 1, UsageComplete: true, AuditNotified: true, TokenMints: 1}
	if clean.Tenants != want.Tenants || clean.Activations != 1 || !clean.UsageComplete || !clean.AuditNotified || clean.TokenMints != 1 {
		t.Fatalf("clean pass: %+v", clean)
	}
	if clean.UsageTenants < 20 || clean.UsageItems == 0 || clean.ReportBytes < 200<<10 || clean.AuditFindings == 0 {
		t.Fatalf("clean pass produced too little: %+v", clean)
	}
	wantObjects := []string{"audit/announced.json", "audit/findings.jsonl.gz", "audit/latest.json", "audit/notify-new.txt", "audit/report.html", "audit/summary.json",
		"reports/pending-record", "reports/report.v2.csv", "usage/_manifest.json", "usage/part", "usage/runs-index"}
	if strings.Join(clean.Objects, ",") != strings.Join(wantObjects, ",") {
		t.Fatalf("objects %v, want %v", clean.Objects, wantObjects)
	}
	faulty := pass(t, true)
	t.Logf("clean  %+v", clean)
	t.Logf("faulty %+v", faulty)
	if faulty.TokenMints < 2 {
		t.Fatalf("the expired token was not refreshed through token-refresh: %d mints", faulty.TokenMints)
	}
	faulty.TokenMints, clean.TokenMints = 0, 0
	if fmt.Sprintf("%+v", faulty) != fmt.Sprintf("%+v", clean) {
		t.Fatalf("results differ under faults:\nclean  %+v\nfaulty %+v", clean, faulty)
	}
}
