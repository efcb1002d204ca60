package templatecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/webhook"
)

// The project's template grants no wildcard where a narrower grant exists,
// and every schedule expression is valid.
func TestProjectTemplate(t *testing.T) {
	tpl, err := Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Resources) == 0 {
		t.Fatal("no resources read")
	}
	for _, f := range IAMWildcards(tpl) {
		t.Error(f)
	}
	for _, f := range ScheduleExpressions(tpl) {
		t.Error(f)
	}
	for _, f := range Operability(tpl) {
		t.Error(f)
	}
	for _, f := range ListBucketForReads(tpl) {
		t.Error(f)
	}
	for _, f := range AlarmTopics(tpl) {
		t.Error(f)
	}
}

func TestOperability(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.yaml")
	os.WriteFile(p, []byte(`
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        S:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(1 hour)}
  FErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions: [{Name: FunctionName, Value: !Ref F}]
`), 0o644)
	tpl, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Operability(tpl) {
		got = append(got, f.String())
	}
	want := []string{"F: no Throttles alarm", "F: scheduled, but failed async invocations have no OnFailure destination"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// The checks find what they are there to find.
func TestIAMWildcards(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"wildcard action", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: s3:*
              Resource: !Sub "${DataBucket.Arn}/usage/*"
`, "wildcard action s3:*"},
		{"wildcard resource", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: "*"
`, "wildcard resource"},
		{"whole bucket", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: s3:PutObject
              Resource: !Sub "${DataBucket.Arn}/*"
`, "scope it to a key prefix"},
		{"broad SAM template", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - S3CrudPolicy:
            BucketName: !Ref DataBucket
`, "broad SAM policy template S3CrudPolicy"},
		{"star-only action is fine", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: cloudwatch:PutMetricData
              Resource: "*"
`, ""},
		{"scoped grant is fine", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [s3:PutObject, s3:GetObject]
              Resource: !Sub "${DataBucket.Arn}/usage/*"
`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "t.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			tpl, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range IAMWildcards(tpl) {
				got = append(got, f.String())
			}
			joined := strings.Join(got, "\n")
			if tt.want == "" && len(got) > 0 || tt.want != "" && !strings.Contains(joined, tt.want) {
				t.Fatalf("findings %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckScheduleExpression(t *testing.T) {
	tests := []struct {
		expr string
		ok   bool
	}{
		{"rate(30 minutes)", true},
		{"rate(1 minute)", true},
		{"rate(1 day)", true},
		{"rate(5 minute)", false},
		{"rate(1 minutes)", false},
		{"rate(0 minutes)", false},
		{"cron(0 6 2 * ? *)", true},
		{"cron(0 * * * ? *)", true},
		{"cron(0 6 * * MON-FRI *)", false},
		{"cron(0 6 ? * MON-FRI *)", true},
		{"cron(0 6 * *)", false},
		{"every day", false},
	}
	for _, tt := range tests {
		if err := CheckScheduleExpression(tt.expr); (err == nil) != tt.ok {
			t.Errorf("%q: err %v, want ok=%v", tt.expr, err, tt.ok)
		}
	}
}

func loadYAML(t *testing.T, yaml string) *Template {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

const readFn = `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [s3:PutObject, s3:GetObject]
              Resource: !Sub "${DataBucket.Arn}/reports/*"
`

// moto answers 404 for a missing key whatever the role; real S3 answers 403
// without ListBucket, so the rule is enforced here.
func TestListBucketForReads(t *testing.T) {
	tests := []struct {
		name, extra string
		want        int
	}{
		{"no ListBucket", "", 1},
		{"ListBucket on the prefix", `
            - Effect: Allow
              Action: s3:ListBucket
              Resource: !GetAtt DataBucket.Arn
              Condition: {StringLike: {s3:prefix: reports/*}}
`, 0},
		{"ListBucket on another prefix", `
            - Effect: Allow
              Action: s3:ListBucket
              Resource: !GetAtt DataBucket.Arn
              Condition: {StringLike: {s3:prefix: audit/*}}
`, 1},
		{"ListBucket on another bucket", `
            - Effect: Allow
              Action: s3:ListBucket
              Resource: !GetAtt OtherBucket.Arn
              Condition: {StringLike: {s3:prefix: reports/*}}
`, 1},
		{"ListBucket without condition is not accepted", `
            - Effect: Allow
              Action: s3:ListBucket
              Resource: !GetAtt DataBucket.Arn
`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ListBucketForReads(loadYAML(t, readFn+tt.extra))
			if len(got) != tt.want {
				t.Fatalf("findings %v, want %d", got, tt.want)
			}
		})
	}
	// A write-only function needs no ListBucket.
	if got := ListBucketForReads(loadYAML(t, strings.Replace(readFn, "[s3:PutObject, s3:GetObject]", "s3:PutObject", 1))); len(got) != 0 {
		t.Fatalf("write-only: %v", got)
	}
}

func TestAlarmTopics(t *testing.T) {
	const tpl = `
Resources:
  T:
    Type: AWS::SNS::Topic
    Properties: {KmsMasterKeyId: %s}
  A:
    Type: AWS::CloudWatch::Alarm
    Properties: {AlarmActions: [!Ref T]}
`
	for key, want := range map[string]int{"alias/aws/sns": 1, "!Ref K": 0} {
		if got := AlarmTopics(loadYAML(t, fmt.Sprintf(tpl, key))); len(got) != want {
			t.Errorf("key %s: findings %v, want %d", key, got, want)
		}
	}
}

// Role parameters offer only roles of the account-management document's
// userRole enum (the platform refuses any other, after the tenant exists).
func TestRoleParametersAreDocumentedRoles(t *testing.T) {
	tpl, err := Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"DefaultUserRole", "PsaUserRole"} {
		p, ok := tpl.Parameters[name]
		if !ok {
			t.Fatalf("parameter %s missing", name)
		}
		values, _ := p["AllowedValues"].([]any)
		if len(values) == 0 || !webhook.ValidRole(fmt.Sprint(p["Default"])) {
			t.Errorf("%s: default %v, allowed %v", name, p["Default"], values)
		}
		for _, v := range values {
			if !webhook.ValidRole(fmt.Sprint(v)) {
				t.Errorf("%s allows %q, which is not in the document's userRole enum", name, v)
			}
		}
	}
}

// The example samconfig sets every parameter the template gives no default.
func TestSamconfigExample(t *testing.T) {
	tpl, err := Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../samconfig.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range MissingOverrides(tpl, string(b)) {
		t.Error(f)
	}
}

func TestMissingOverrides(t *testing.T) {
	tpl := &Template{Parameters: map[string]map[string]any{
		"Required": {"Type": "String"}, "Other": {"Type": "String"}, "Optional": {"Type": "String", "Default": ""},
	}}
	tests := []struct{ name, toml, want string }{
		{"both set", `parameter_overrides = "Required=\"a\" Other=b"`, ""},
		{"one missing", `parameter_overrides = "Required=\"a b\" Optional=x"`, "Other"},
		{"only in a comment", "# parameter_overrides = \"Required=a Other=b\"\nparameter_overrides = \"Other=b\"", "Required"},
		{"no overrides", `stack_name = "x"`, "Other,Required"},
		{"value names a parameter", `parameter_overrides = "Other=\"Required=x\""`, "Required"},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range MissingOverrides(tpl, tt.toml) {
			got = append(got, f.Resource)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("%s: missing %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestOverrides(t *testing.T) {
	tests := []struct{ toml, want string }{
		{`parameter_overrides = "A=\"x y\" B=z C=\"\""`, "A=x y|B=z|C="},
		{`parameter_overrides = "A=\"B=1\""`, "A=B=1"},
		{`  parameter_overrides="A=1"`, "A=1"},
		{`# parameter_overrides = "A=1"`, ""},
		{`parameter_overrides = ""`, ""},
	}
	for _, tt := range tests {
		got := Overrides(tt.toml)
		var pairs []string
		for _, k := range sortedKeys(got) {
			pairs = append(pairs, k+"="+got[k])
		}
		if strings.Join(pairs, "|") != tt.want {
			t.Errorf("%s: %q, want %q", tt.toml, pairs, tt.want)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// No input panics; every name found is in the input.
func FuzzOverrides(f *testing.F) {
	f.Add(`parameter_overrides = "A=\"x y\" B=z"`)
	f.Add("parameter_overrides=\nparameter_overrides = \"=\"")
	f.Fuzz(func(t *testing.T, s string) {
		for k := range Overrides(s) {
			if !strings.Contains(s, k+"=") {
				t.Fatalf("%q: name %q not in the input", s, k)
			}
		}
	})
}

// The README's cost table states the counts template.yaml has.
func TestCostTableMatchesTemplate(t *testing.T) {
	tpl, err := Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range CostTable(tpl, string(readme)) {
		t.Error(f)
	}
}

func TestCostTable(t *testing.T) {
	tpl := &Template{Resources: map[string]Resource{
		"A": {Type: "AWS::CloudWatch::Alarm"}, "B": {Type: "AWS::CloudWatch::Alarm"},
		"F": {Type: "AWS::Serverless::Function", Properties: map[string]any{"Events": map[string]any{
			"S": map[string]any{"Type": "ScheduleV2"}, "Q": map[string]any{"Type": "SQS"}}}},
	}}
	rows := func(alarms int) string {
		return fmt.Sprintf("| Lambda functions: 1 | $0 |\n| CloudWatch alarms: %d (x) | $0.20 |\n| KMS keys: 0 |\n| CloudWatch log groups: 0 |\n| SQS queues: 0 |\n| SNS topics: 0 |\n| Secrets Manager secrets: 0 |\n| EventBridge schedules: 1 |\n", alarms)
	}
	tests := []struct{ name, readme, want string }{
		{"all right", "# x\n## Costs (estimate)\n" + rows(2) + "## Next\n| CloudWatch alarms: 9 |\n", ""},
		{"wrong count", "## Costs\n" + rows(3), "CloudWatch alarms: 3, template.yaml has 2"},
		{"row missing", "## Costs\n" + strings.Replace(rows(2), "| KMS keys: 0 |\n", "", 1), `no row "| KMS keys: 0`},
		{"row outside the section", "## Costs\n" + strings.Replace(rows(2), "| KMS keys: 0 |\n", "", 1) + "## Other\n| KMS keys: 0 |\n", `no row "| KMS keys: 0`},
		{"no section", rows(2), "no \"## Costs\" section"},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range CostTable(tpl, tt.readme) {
			got = append(got, f.Problem)
		}
		if j := strings.Join(got, "|"); (tt.want == "") != (j == "") || !strings.Contains(j, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
