package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	tokenhandler "github.com/acp-serverless/acp-serverless/functions/token-refresh/handler"
	intakehandler "github.com/acp-serverless/acp-serverless/functions/webhook-intake/handler"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Each statement the template gives token-refresh and webhook-intake is
// needed: translated from a copy of the template without it, the function's
// run fails (moto refuses the call), with it the run succeeds.
func TestEveryStatementIsNeeded(t *testing.T) {
	tests := []struct {
		fn      string
		deleted string // "" = the template as it is
		wantOK  bool
	}{
		{"TokenRefreshFunction", "", true},
		{"TokenRefreshFunction", "TokenRefreshFunction:0", false}, // read the API client
		{"TokenRefreshFunction", "TokenRefreshFunction:1", false}, // read/write the token
		{"WebhookIntakeFunction", "", true},
		{"WebhookIntakeFunction", "WebhookIntakeFunction:0", false}, // read the webhook key
		{"WebhookIntakeFunction", "WebhookIntakeFunction:1", false}, // record the event id
		{"WebhookIntakeFunction", "WebhookIntakeFunction:2", false}, // send to the queue
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s without %q", tt.fn, tt.deleted), func(t *testing.T) {
			var del []string
			if tt.deleted != "" {
				del = append(del, tt.deleted)
			}
			tr, err := mototest.Translate(context.Background(), del...)
			if err != nil {
				t.Fatal(err)
			}
			run := runToken
			if tt.fn == "WebhookIntakeFunction" {
				run = runIntake
			}
			if err := run(t, tr); (err == nil) != tt.wantOK {
				t.Fatalf("run: %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
}

func runToken(t *testing.T, tr *mototest.Translated) error {
	ctx := context.Background()
	admin := mototest.Get(t).Config()
	sim := acronistest.NewServer(t, acronistest.Config{})
	id, secret := sim.AddAPIClient("")
	sm := awsenv.SecretsManager(admin)
	client, token := mototest.Name("client"), mototest.Name("token")
	names := mototest.Names{"AsyncFailureQueue.Arn": "arn:aws:sqs:us-east-1:" + mototest.Account + ":async"}
	for logical, v := range map[string]string{
		client: fmt.Sprintf(`{"base_url":%q,"client_id":%q,"client_secret":%q}`, sim.URL(), id, secret), token: "{}"} {
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(logical), SecretString: aws.String(v)})
		if err != nil {
			t.Fatal(err)
		}
		names[map[string]string{client: "AcronisClientSecret", token: "AcronisTokenSecret"}[logical]] = aws.ToString(out.ARN)
	}
	cfg := (&roleSet{}).configFrom(t, tr, admin, "TokenRefreshFunction", names)
	env := map[string]string{"ACRONIS_CLIENT_SECRET_ID": client, "ACRONIS_TOKEN_SECRET_ID": token}
	h, err := lambdafn.FromEnv(cfg, func(k string) string { return env[k] }, tokenhandler.LoadConfig, tokenhandler.Build, lambdafn.Logger(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = h(ctx, tokenrefresh.Request{Force: true})
	return err
}

func runIntake(t *testing.T, tr *mototest.Translated) error {
	ctx := context.Background()
	admin := mototest.Get(t).Config()
	hook, table, queue := mototest.Name("webhook"), mototest.Name("prov"), mototest.Name("prov")+".fifo"
	out, err := awsenv.SecretsManager(admin).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(hook), SecretString: aws.String(webhookKey)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.NewFromConfig(admin).CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest}); err != nil {
		t.Fatal(err)
	}
	qo, err := sqs.NewFromConfig(admin).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queue), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	names := mototest.Names{"WebhookSecret": aws.ToString(out.ARN), "ProvisioningTable.Arn": "arn:aws:dynamodb:us-east-1:" + mototest.Account + ":table/" + table,
		"ProvisioningQueue.Arn": "arn:aws:sqs:us-east-1:" + mototest.Account + ":" + queue}
	cfg := (&roleSet{}).configFrom(t, tr, admin, "WebhookIntakeFunction", names)
	env := map[string]string{"WEBHOOK_SECRET_ID": hook, "PROVISIONING_TABLE": table, "PROVISIONING_QUEUE_URL": aws.ToString(qo.QueueUrl)}
	h, err := lambdafn.FromEnv(cfg, func(k string) string { return env[k] }, intakehandler.LoadConfig, intakehandler.Build, lambdafn.Logger(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	body := mustRead(t, "provisioning-created.json")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req := events.APIGatewayV2HTTPRequest{Body: string(body), Headers: map[string]string{"x-timestamp": ts, "x-signature": webhook.Sign([]byte(webhookKey), ts, body)}}
	resp, err := h(ctx, req)
	if err != nil {
		return err
	}
	if resp.StatusCode != 202 {
		b, _ := json.Marshal(resp)
		return fmt.Errorf("webhook answered %s", b)
	}
	return nil
}
