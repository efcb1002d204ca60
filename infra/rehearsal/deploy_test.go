package rehearsal

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/infra/templatecheck"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The resource types moto 5's CloudFormation has no model for. moto skips
// such a resource with a warning and still reports CREATE_COMPLETE, so they
// are stripped from the rehearsal copy (references to them become
// "not-rehearsed:<LogicalId>") and listed here with what that leaves
// unrehearsed. TestDeployRehearsal fails when this list and moto disagree.
var notRehearsed = map[string]string{
	"AWS::ApiGatewayV2::Api":         "the HTTP API in front of webhook-intake (and its throttling) is not created",
	"AWS::ApiGatewayV2::Stage":       "the HTTP API's stage is not created",
	"AWS::CloudWatch::Alarm":         "no alarm is created; infra/templatecheck checks every function has its errors and throttles alarm, the cost test counts them",
	"AWS::Glue::Database":            "the Athena database for usage is not created",
	"AWS::Glue::Table":               "usage_items and usage_runs are not created",
	"AWS::Lambda::EventInvokeConfig": "async retries and the OnFailure queue of scheduled functions are not configured",
	"AWS::S3::BucketPolicy":          "the TLS-only bucket policy is not attached",
	"AWS::SNS::Subscription":         "the optional AlarmEmail subscription is not created",
	"AWS::SQS::QueuePolicy":          "the provisioning queue's only-the-intake-sends policy is not attached",
	"AWS::Scheduler::Schedule":       "no schedule is created (the schedules' roles are)",
	"AWS::SecretsManager::Secret":    "the three secrets are not created; functions' variables naming them hold not-rehearsed:<LogicalId>",
}

// The deploy, rehearsed: the template as SAM translates it, with each
// function's own built bootstrap as its code, is created as a stack in
// moto's CloudFormation with the example samconfig's parameters; then the
// functions, queues, table, topics, KMS key and bucket are checked through
// their own APIs. moto creates Lambda functions without Docker (only
// invoking one would need it); nothing is invoked here.
func TestDeployRehearsal(t *testing.T) {
	ctx := context.Background()
	cfg := mototest.Get(t).Config()
	bucket := mototest.Name("code")
	tpl := translate(t, bucket)

	lacks, err := MotoLacks(ctx, Types(tpl))
	if err != nil {
		t.Fatal(err)
	}
	strip := map[string]bool{}
	for _, ty := range lacks {
		if notRehearsed[ty] == "" {
			t.Errorf("moto's CloudFormation cannot create %s: add it to notRehearsed with what that leaves out", ty)
		}
		strip[ty] = true
	}
	for ty := range notRehearsed {
		if !strip[ty] && slices.Contains(Types(tpl), ty) {
			t.Errorf("moto can now create %s: take it off notRehearsed and check it", ty)
		}
	}
	stripped, err := Strip(tpl, strip)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("not rehearsed (moto cannot create them): %s", strings.Join(stripped, ", "))

	zips := uploadCode(t, cfg, bucket)
	params := parameters(t)
	stack := createStack(t, cfg, tpl, params)

	kept, _ := tpl["Resources"].(map[string]any)
	physical := stackResources(t, cfg, stack)
	for id, r := range kept {
		ty, _ := r.(map[string]any)["Type"].(string)
		if _, ok := physical[id]; !ok {
			t.Errorf("%s (%s) is not in the stack", id, ty)
		}
	}
	c := &checker{t: t, cfg: cfg, tpl: kept, physical: physical, params: params}
	for _, id := range c.ofType("AWS::Lambda::Function") {
		c.function(id, zips[id])
	}
	c.queues()
	c.table()
	c.topicsAndKey()
	c.bucket()
	c.eventSource()
	c.webhookPermission()
	t.Log("created but not checked: what moto's models do not keep (a function's LoggingConfig, the bucket's LifecycleConfiguration, the table's TTL and point-in-time recovery)")
}

func uploadCode(t *testing.T, cfg aws.Config, bucket string) map[string][]byte {
	t.Helper()
	all, err := builds()
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	zips := map[string][]byte{}
	for id, b := range all {
		if b.err != nil {
			t.Fatalf("%s: %v", id, b.err)
		}
		z, err := Zip(b.bootstrap)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s3c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(id + ".zip"), Body: bytes.NewReader(z)}); err != nil {
			t.Fatal(err)
		}
		zips[id] = z
	}
	return zips
}

// parameters are infra/samconfig.toml.example's overrides: the rehearsal
// deploys what an operator following the README would.
func parameters(t *testing.T) map[string]string {
	t.Helper()
	root, _ := mototest.RepoRoot()
	b, err := os.ReadFile(filepath.Join(root, "infra", "samconfig.toml.example"))
	if err != nil {
		t.Fatal(err)
	}
	p := templatecheck.Overrides(string(b))
	if len(p) == 0 {
		t.Fatal("samconfig.toml.example sets no parameters")
	}
	return p
}

func createStack(t *testing.T, cfg aws.Config, tpl map[string]any, params map[string]string) string {
	t.Helper()
	ctx := context.Background()
	body, _ := json.Marshal(tpl)
	cf := cloudformation.NewFromConfig(cfg)
	var ps []cftypes.Parameter
	for _, k := range slices.Sorted(maps.Keys(params)) {
		ps = append(ps, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(params[k])})
	}
	name := mototest.Name("acp-serverless")
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(string(body)),
		Parameters: ps, Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityIam}}); err != nil {
		t.Fatalf("create stack: %v", err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		st := out.Stacks[0]
		if !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			if st.StackStatus != cftypes.StackStatusCreateComplete {
				t.Fatalf("stack %s: %s (%s)", name, st.StackStatus, aws.ToString(st.StackStatusReason))
			}
			return name
		}
		if time.Now().After(deadline) {
			t.Fatalf("stack %s still %s after 2 minutes", name, st.StackStatus)
		}
	}
}

// stackResources maps logical ids to physical ids; every resource must be
// CREATE_COMPLETE.
func stackResources(t *testing.T, cfg aws.Config, stack string) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := cloudformation.NewListStackResourcesPaginator(cloudformation.NewFromConfig(cfg), &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.StackResourceSummaries {
			id := aws.ToString(r.LogicalResourceId)
			if id == "" {
				t.Errorf("a %s without a logical id: moto skipped a resource it cannot create", aws.ToString(r.ResourceType))
				continue
			}
			if r.ResourceStatus != cftypes.ResourceStatusCreateComplete {
				t.Errorf("%s: %s", id, r.ResourceStatus)
			}
			out[id] = aws.ToString(r.PhysicalResourceId)
		}
	}
	return out
}

type checker struct {
	t        *testing.T
	cfg      aws.Config
	tpl      map[string]any // the rehearsal copy's resources
	physical map[string]string
	params   map[string]string
}

func (c *checker) props(id string) map[string]any {
	p, _ := c.tpl[id].(map[string]any)["Properties"].(map[string]any)
	return p
}

func (c *checker) ofType(ty string) []string {
	var out []string
	for id, r := range c.tpl {
		if r.(map[string]any)["Type"] == ty {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// function checks a Lambda function against its template properties and
// its own built zip.
func (c *checker) function(id string, zip []byte) {
	t := c.t
	out, err := lambda.NewFromConfig(c.cfg).GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(c.physical[id])})
	if err != nil {
		t.Errorf("%s: %v", id, err)
		return
	}
	fc, p := out.Configuration, c.props(id)
	role, err := iam.NewFromConfig(c.cfg).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(c.physical[id+"Role"])})
	if err != nil {
		t.Errorf("%s: its role %sRole: %v", id, id, err)
		return
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"runtime", string(fc.Runtime), "provided.al2023"},
		{"handler", aws.ToString(fc.Handler), "bootstrap"},
		{"architectures", fmtSlice(fc.Architectures), "[arm64]"},
		{"code sha256 (its own build)", aws.ToString(fc.CodeSha256), codeSha256(zip)},
		{"code size", fc.CodeSize, int64(len(zip))},
		{"role", aws.ToString(fc.Role), aws.ToString(role.Role.Arn)},
		{"memory", float64(aws.ToInt32(fc.MemorySize)), p["MemorySize"]},
		{"timeout", float64(aws.ToInt32(fc.Timeout)), p["Timeout"]},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: %s %v, want %v", id, ck.what, ck.got, ck.want)
		}
	}
	var env map[string]string
	if fc.Environment != nil {
		env = fc.Environment.Variables
	}
	c.environment(id, env)
}

// environment: every variable the template sets has the value it resolves
// to in this stack (a parameter's value, a resource's physical id, or the
// not-rehearsed stand-in), and none is empty or null.
func (c *checker) environment(id string, env map[string]string) {
	p := c.props(id)
	e, _ := p["Environment"].(map[string]any)
	vars, _ := e["Variables"].(map[string]any)
	if len(vars) == 0 {
		return
	}
	for name, v := range vars {
		var want string
		switch v := v.(type) {
		case string:
			want = v
		case map[string]any:
			ref, _ := v["Ref"].(string)
			switch {
			case ref == "AWS::NoValue":
				if _, set := env[name]; set {
					c.t.Errorf("%s: %s is set, the template removes it", id, name)
				}
				continue
			case c.physical[ref] != "":
				want = c.physical[ref]
			case c.params[ref] != "":
				want = c.params[ref]
			default:
				continue // a parameter left at its default
			}
		}
		if got := env[name]; got != want || got == "" || got == "None" {
			c.t.Errorf("%s: %s=%q, want %q", id, name, got, want)
		}
	}
}

func (c *checker) queues() {
	t, ctx := c.t, context.Background()
	q := sqs.NewFromConfig(c.cfg)
	attrs := map[string]map[string]string{}
	for _, id := range c.ofType("AWS::SQS::Queue") {
		out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(c.physical[id]), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		attrs[id] = out.Attributes
		// Provisioning keeps each CRM customer's events in order: FIFO.
		fifo := id == "ProvisioningQueue" || id == "ProvisioningDeadLetterQueue"
		if got := out.Attributes["FifoQueue"] == "true"; got != fifo || fifo != strings.HasSuffix(c.physical[id], ".fifo") {
			t.Errorf("%s: FIFO %v (url %s), want %v", id, got, c.physical[id], fifo)
		}
		if fifo && out.Attributes["ContentBasedDeduplication"] != "false" {
			t.Errorf("%s: content-based deduplication %q, the intake sends event ids", id, out.Attributes["ContentBasedDeduplication"])
		}
	}
	if len(attrs) < 4 {
		t.Errorf("%d queues, want 4", len(attrs))
	}
	var redrive struct {
		Target string `json:"deadLetterTargetArn"`
		Max    any    `json:"maxReceiveCount"`
	}
	_ = json.Unmarshal([]byte(attrs["ProvisioningQueue"]["RedrivePolicy"]), &redrive)
	if redrive.Target == "" || redrive.Target != attrs["ProvisioningDeadLetterQueue"]["QueueArn"] || jsonNumber(redrive.Max) != 6 {
		t.Errorf("ProvisioningQueue redrive %q, want the FIFO dead-letter queue after 6 receives", attrs["ProvisioningQueue"]["RedrivePolicy"])
	}
	if v := attrs["ProvisioningQueue"]["VisibilityTimeout"]; v != "900" {
		t.Errorf("ProvisioningQueue visibility timeout %s, want 900", v)
	}
}

func (c *checker) table() {
	out, err := dynamodb.NewFromConfig(c.cfg).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(c.physical["ProvisioningTable"])})
	if err != nil {
		c.t.Errorf("ProvisioningTable: %v", err)
		return
	}
	ks := out.Table.KeySchema
	if len(ks) != 1 || aws.ToString(ks[0].AttributeName) != "pk" || ks[0].KeyType != "HASH" {
		c.t.Errorf("ProvisioningTable key schema %+v, want pk HASH", ks)
	}
	if out.Table.BillingModeSummary == nil || out.Table.BillingModeSummary.BillingMode != "PAY_PER_REQUEST" {
		c.t.Errorf("ProvisioningTable billing %+v, want PAY_PER_REQUEST", out.Table.BillingModeSummary)
	}
}

func (c *checker) topicsAndKey() {
	t, ctx := c.t, context.Background()
	keyID := c.physical["AlarmTopicKey"]
	key, err := kms.NewFromConfig(c.cfg).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		t.Errorf("AlarmTopicKey: %v", err)
	} else if !key.KeyMetadata.Enabled {
		t.Errorf("AlarmTopicKey is not enabled: %s", key.KeyMetadata.KeyState)
	}
	if rot, err := kms.NewFromConfig(c.cfg).GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(keyID)}); err != nil || !rot.KeyRotationEnabled {
		t.Errorf("AlarmTopicKey rotation not enabled (%v)", err)
	}
	want := map[string]string{"AlarmTopic": keyID, "AuditTopic": "alias/aws/sns"}
	for _, id := range c.ofType("AWS::SNS::Topic") {
		out, err := sns.NewFromConfig(c.cfg).GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(c.physical[id])})
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if got := out.Attributes["KmsMasterKeyId"]; got != want[id] {
			t.Errorf("%s: encrypted with %q, want %q", id, got, want[id])
		}
		delete(want, id)
	}
	if len(want) > 0 {
		t.Errorf("topics missing: %v", want)
	}
}

func (c *checker) bucket() {
	t, ctx := c.t, context.Background()
	s3c := s3.NewFromConfig(c.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	name := aws.String(c.physical["DataBucket"])
	if v, err := s3c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: name}); err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
		t.Errorf("DataBucket versioning not Enabled (%v)", err)
	}
	enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: name})
	if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) == 0 || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Errorf("DataBucket encryption: %v, want AES256", err)
	}
	if pab, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: name}); err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicAcls) || !aws.ToBool(pab.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
		t.Errorf("DataBucket public access block: %v", err)
	}
}

// eventSource: the worker consumes the FIFO queue, reporting item failures.
func (c *checker) eventSource() {
	out, err := lambda.NewFromConfig(c.cfg).ListEventSourceMappings(context.Background(), &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(c.physical["TenantProvisioningFunction"])})
	if err != nil || len(out.EventSourceMappings) != 1 {
		c.t.Errorf("TenantProvisioningFunction event sources: %v, %v", out, err)
		return
	}
	m := out.EventSourceMappings[0]
	if arn := aws.ToString(m.EventSourceArn); !strings.HasSuffix(arn, ":"+c.physical["ProvisioningQueue"][strings.LastIndex(c.physical["ProvisioningQueue"], "/")+1:]) || aws.ToInt32(m.BatchSize) != 5 {
		c.t.Errorf("TenantProvisioningFunction consumes %s in batches of %d, want ProvisioningQueue, 5", arn, aws.ToInt32(m.BatchSize))
	}
}

// webhookPermission: the HTTP API may invoke the intake (the API itself is
// not rehearsed, so its ARN in the condition is the stand-in).
func (c *checker) webhookPermission() {
	out, err := lambda.NewFromConfig(c.cfg).GetPolicy(context.Background(), &lambda.GetPolicyInput{FunctionName: aws.String(c.physical["WebhookIntakeFunction"])})
	if err != nil || !strings.Contains(aws.ToString(out.Policy), "apigateway.amazonaws.com") || !strings.Contains(aws.ToString(out.Policy), "lambda:InvokeFunction") {
		c.t.Errorf("WebhookIntakeFunction resource policy: %v %v, want API Gateway allowed to invoke", out, err)
	}
}

func fmtSlice[T ~string](s []T) string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return "[" + strings.Join(out, " ") + "]"
}

func jsonNumber(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case string:
		var f float64
		_ = json.Unmarshal([]byte(v), &f)
		return f
	}
	return 0
}
