package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/functions/tenant-provisioning/handler"
	intake "github.com/acp-serverless/acp-serverless/functions/webhook-intake/handler"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// IAM enforced: the worker and the intake run with the credentials of the
// roles SAM generates for TenantProvisioningFunction and WebhookIntakeFunction.
func TestMain(m *testing.M) { mototest.MainIAM(m) }

const key = "whsec-0123456789abcdef-test"

type stack struct {
	sim     *acronistest.Server
	parent  string
	sqs     *sqs.Client
	queue   string
	handler lambda.Handler
	intake  lambda.Handler // webhook-intake, which feeds this worker's queue
	logs    *bytes.Buffer
	token   string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	cfg := mototest.Get(t).Config()
	sim := acronistest.NewServer(t, acronistest.Config{})
	parent := sim.AddTenant(acronistest.TenantSpec{Name: "MSP Partner", Kind: "partner"})
	id, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, id, secret)
	sm := awsenv.SecretsManager(cfg)
	tokenID, hookID, table := mototest.Name("token"), mototest.Name("webhook"), mototest.Name("prov")
	arns := map[string]string{}
	for name, v := range map[string]string{
		tokenID: fmt.Sprintf(`{"access_token":%q,"expires_at":%q,"base_url":%q}`, tok, time.Now().Add(time.Hour).Format(time.RFC3339), sim.URL()),
		hookID:  key,
	} {
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(v)})
		if err != nil {
			t.Fatal(err)
		}
		arns[name] = aws.ToString(out.ARN)
	}
	if _, err := dynamodb.NewFromConfig(cfg).CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest}); err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(cfg)
	qname := mototest.Name("prov") + ".fifo"
	qo, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(qname),
		Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ACRONIS_TOKEN_SECRET_ID": tokenID, "TOKEN_REFRESH_FUNCTION": "token-refresh", "WEBHOOK_SECRET_ID": hookID,
		"PROVISIONING_TABLE": table, "PROVISIONING_QUEUE_URL": aws.ToString(qo.QueueUrl), "PARENT_TENANT_ID": parent, "ALLOW_TENANT_DELETION": "true"}
	queueArn := mototest.QueueARN(qname)
	worker := mototest.RoleConfig(t, "TenantProvisioningFunction", mototest.Names{
		"AcronisTokenSecret":       arns[tokenID],
		"TokenRefreshFunction.Arn": mototest.FunctionARN("token-refresh"),
		"ProvisioningTable.Arn":    mototest.TableARN(table),
		"ProvisioningQueue.Arn":    queueArn,
	})
	intakeRole := mototest.RoleConfig(t, "WebhookIntakeFunction", mototest.Names{
		"WebhookSecret":         arns[hookID],
		"ProvisioningTable.Arn": mototest.TableARN(table),
		"ProvisioningQueue.Arn": queueArn,
	})
	logs := &bytes.Buffer{}
	h, err := lambdafn.FromEnv(worker, func(k string) string { return env[k] }, handler.LoadConfig, handler.Build, lambdafn.Logger(logs))
	if err != nil {
		t.Fatal(err)
	}
	ih, err := lambdafn.FromEnv(intakeRole, func(k string) string { return env[k] }, intake.LoadConfig, intake.Build, lambdafn.Logger(logs))
	if err != nil {
		t.Fatal(err)
	}
	return &stack{sim: sim, parent: parent, sqs: q, queue: aws.ToString(qo.QueueUrl), handler: lambda.NewHandler(h), intake: lambda.NewHandler(ih), logs: logs, token: tok}
}

func (s *stack) invoke(t *testing.T, payload []byte) ([]byte, error) {
	t.Helper()
	if bytes.Contains(payload, []byte(`"requestContext"`)) {
		return s.intake.Invoke(lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "t"}), payload)
	}
	return s.handler.Invoke(lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "t"}), payload)
}

func apigw(t *testing.T, body string, ts int64, sig string, b64 bool) []byte {
	tstr := strconv.FormatInt(ts, 10)
	if sig == "" {
		sig = webhook.Sign([]byte(key), tstr, []byte(body))
	}
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /webhooks/crm", RawPath: "/webhooks/crm", Body: body,
		Headers: map[string]string{"x-timestamp": tstr, "x-signature": sig, "content-type": "application/json"}}
	req.RequestContext.HTTP.Method = "POST"
	if b64 {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	b, _ := json.Marshal(req)
	return b
}

func TestWebhook(t *testing.T) {
	s := newStack(t)
	created, _ := os.ReadFile("../../events/provisioning-created.json")
	now := time.Now().Unix()
	tests := []struct {
		name       string
		payload    []byte
		wantStatus int
		wantBody   string
	}{
		{"signed event accepted and queued", apigw(t, string(created), now, "", false), 202, `"accepted":"evt-2026-11-22-0001"`},
		{"the same event again", apigw(t, string(created), now, "", false), 409, "already received"},
		{"bad signature, no detail", apigw(t, string(created), now, "sha256="+strings.Repeat("0", 64), false), 401, `{"message":"unauthorized"}`},
		{"stale timestamp", apigw(t, string(created), now-600, "", false), 401, `{"message":"unauthorized"}`},
		{"bad payload names the field", apigw(t, `{"id":"e9","type":"customer.created","customer":{"crm_id":"C9","edition":"pck_per_gigabyte"}}`, now, "", true), 400, `"field":"customer.name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.invoke(t, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			_ = json.Unmarshal(out, &resp)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(resp.Body, tt.wantBody) {
				t.Fatalf("got %d %s, want %d with %s", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus == 401 && resp.Body != `{"message":"unauthorized"}` {
				t.Fatalf("401 with detail: %s", resp.Body)
			}
		})
	}
	// The queued message, delivered twice by SQS, creates one tenant.
	msgs, err := s.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.queue), MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil || len(msgs.Messages) != 1 {
		t.Fatalf("queue holds %d messages (%v), want 1", len(msgs.Messages), err)
	}
	if a := msgs.Messages[0].Attributes; a["MessageGroupId"] != "CRM-10042" || a["MessageDeduplicationId"] != "evt-2026-11-22-0001" {
		t.Fatalf("FIFO attributes %v: want the CRM id as group and the event id as deduplication id", a)
	}
	batch := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: aws.ToString(msgs.Messages[0].Body), EventSource: "aws:sqs"},
		{MessageId: "m2", Body: aws.ToString(msgs.Messages[0].Body), EventSource: "aws:sqs"},
		{MessageId: "m3", Body: `{"id":"x","type":"customer.suspended","customer":{"crm_id":"NOPE"}}`, EventSource: "aws:sqs"},
		{MessageId: "m4", Body: `{"id":"y","type":"customer.suspended","customer":{"crm_id":"CRM-10042"}}`, EventSource: "aws:sqs"},
	}}
	b, _ := json.Marshal(batch)
	out, err := s.invoke(t, b)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.SQSEventResponse
	_ = json.Unmarshal(out, &resp)
	// m3 fails (no such customer); m4 after it is not run, so no customer's
	// events overtake one another.
	if len(resp.BatchItemFailures) != 2 || resp.BatchItemFailures[0].ItemIdentifier != "m3" || resp.BatchItemFailures[1].ItemIdentifier != "m4" {
		t.Fatalf("batch failures %+v: want m3 (no such customer) and m4 (not run after it)", resp.BatchItemFailures)
	}
	if n := s.sim.CountRequests("POST", "/api/2/tenants"); n != 1 || s.sim.ActivationEmails("acme-logistics-admin") != 1 {
		t.Fatalf("%d tenant creates, %d activation e-mails", n, s.sim.ActivationEmails("acme-logistics-admin"))
	}
	if strings.Contains(s.logs.String(), key) || strings.Contains(s.logs.String(), s.token) {
		t.Fatal("a secret reached the logs")
	}
	// Under the template's roles, the intake marked the event queued (a
	// refused UpdateItem is only logged, and would turn every replay into a
	// second enqueue).
	if strings.Contains(s.logs.String(), "webhook: mark queued") {
		t.Fatalf("the intake could not mark the event queued:\n%s", s.logs.String())
	}
}

// The on-call engineer's plain events, in the order a customer's life takes.
func TestPlainEvents(t *testing.T) {
	s := newStack(t)
	for _, name := range []string{"created", "updated", "suspended", "reactivated", "sync-users", "deleted"} {
		payload, err := os.ReadFile("../../events/provisioning-" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.invoke(t, payload)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(string(out), `"crm_id":"CRM-10042"`) {
			t.Fatalf("%s: %s", name, out)
		}
	}
	if _, err := s.invoke(t, []byte(`{"id":"e","type":"customer.suspended","customer":{}}`)); err == nil || !strings.Contains(err.Error(), "customer.crm_id") {
		t.Fatalf("bad plain event: %v", err)
	}
}

func TestBadConfiguration(t *testing.T) {
	base := map[string]string{"WEBHOOK_SECRET_ID": "w", "PROVISIONING_TABLE": "t", "PROVISIONING_QUEUE_URL": "q.fifo", "PARENT_TENANT_ID": "5b15f6e1-88ec-4dce-b523-0e8394c0bc19",
		"ACRONIS_TOKEN_SECRET_ID": "t", "TOKEN_REFRESH_FUNCTION": "f"}
	tests := []struct{ key, value, want string }{
		{"PARENT_TENANT_ID", "17", "PARENT_TENANT_ID"},
		{"ALLOW_TENANT_DELETION", "yes", "ALLOW_TENANT_DELETION"},
		{"DEFAULT_USER_ROLE", "root", "DEFAULT_USER_ROLE"},
		{"DEFAULT_USER_ROLE", "backup_admin", "DEFAULT_USER_ROLE"}, // not in the document's userRole enum
		{"PSA_USER_ROLE", "backup_admin", "PSA_USER_ROLE"},
		{"STORAGE_INFRA_ID", "eu2", "STORAGE_INFRA_ID"},
		{"PROVISIONING_TABLE", "", "PROVISIONING_TABLE"},
	}
	for _, tt := range tests {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		env[tt.key] = tt.value
		if _, err := handler.LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%q: err %v", tt.key, tt.value, err)
		}
	}
}

// The intake is its own function: its configuration is checked on its own.
func TestIntakeBadConfiguration(t *testing.T) {
	base := map[string]string{"WEBHOOK_SECRET_ID": "w", "PROVISIONING_TABLE": "t", "PROVISIONING_QUEUE_URL": "q.fifo"}
	tests := []struct{ key, value, want string }{
		{"PROVISIONING_QUEUE_URL", "https://sqs.eu-central-1.amazonaws.com/1/prov", "FIFO"},
		{"WEBHOOK_SECRET_ID", "", "WEBHOOK_SECRET_ID"},
		{"PROVISIONING_TABLE", "", "PROVISIONING_TABLE"},
	}
	for _, tt := range tests {
		env := maps.Clone(base)
		env[tt.key] = tt.value
		if _, err := intake.LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%q: err %v", tt.key, tt.value, err)
		}
	}
}
