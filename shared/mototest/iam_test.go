package mototest

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// With IAM enforced, a role with the template's statements for
// token-refresh reads its two secrets and nothing else; unknown keys and
// the dummy credentials are refused.
func TestFunctionRoleEnforced(t *testing.T) {
	ctx := context.Background()
	s, err := StartIAM()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	admin := secretsmanager.NewFromConfig(s.Config())
	arns := map[string]string{}
	for _, name := range []string{"client", "token", "other"} {
		out, err := admin.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("{}")})
		if err != nil {
			t.Fatal(err)
		}
		arns[name] = aws.ToString(out.ARN)
	}
	tr, err := Translate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := Names{"AcronisClientSecret": arns["client"], "AcronisTokenSecret": arns["token"], "AsyncFailureQueue.Arn": "arn:aws:sqs:us-east-1:123456789012:async"}
	cfg, role, err := s.FunctionRole(ctx, tr, "TokenRefreshFunction", names)
	if err != nil {
		t.Fatal(err)
	}
	fn := secretsmanager.NewFromConfig(cfg)
	for name, want := range map[string]bool{"client": true, "token": true, "other": false} {
		_, err := fn.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if got := err == nil; got != want || (!want && !IsAccessDenied(err)) {
			t.Errorf("GetSecretValue %s: err %v, want allowed=%v", name, err, want)
		}
	}
	if _, err := fn.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("client"), SecretString: aws.String("{}")}); err == nil {
		t.Error("token-refresh may overwrite the API client secret")
	}
	if !role.Allows("secretsmanager:PutSecretValue", arns["token"]) || role.Allows("secretsmanager:PutSecretValue", arns["client"]) {
		t.Error("Role.Allows disagrees with moto")
	}
	dummy := s.Config()
	dummy.Credentials = credentials.NewStaticCredentialsProvider("testing", "testing", "")
	if _, err := secretsmanager.NewFromConfig(dummy).ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err == nil {
		t.Error("dummy credentials accepted: IAM is not enforced")
	}
}

// Every intrinsic the policies use is resolved, or the role is refused.
func TestResolver(t *testing.T) {
	r := &resolver{names: Names{"B.Arn": "arn:aws:s3:::b", "S": "arn:s", "P": ""}, conds: map[string]any{
		"HasP": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "P"}, ""}}}},
	}}
	tests := []struct {
		in      any
		want    string
		wantErr string
	}{
		{map[string]any{"Fn::Sub": "${B.Arn}/usage/*"}, "arn:aws:s3:::b/usage/*", ""},
		{map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}, "arn:aws:iam::123456789012:root", ""},
		{map[string]any{"Ref": "S"}, "arn:s", ""},
		{[]any{map[string]any{"Fn::If": []any{"HasP", "yes", map[string]any{"Ref": "AWS::NoValue"}}}}, "[]", ""},
		{map[string]any{"Ref": "Missing"}, "", "!Ref Missing"},
		{map[string]any{"Fn::GetAtt": []any{"Q", "Arn"}}, "", "!GetAtt Q.Arn"},
		{map[string]any{"Fn::Sub": "${Nope}/x"}, "", "${Nope}"},
	}
	for _, tt := range tests {
		got, err := r.resolve(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if s := strings.Trim(strings.ReplaceAll(fmtAny(got), " ", ""), ""); err != nil || s != tt.want {
			t.Errorf("%v: got %q, %v; want %q", tt.in, s, err, tt.want)
		}
	}
}

func fmtAny(v any) string {
	if l, ok := v.([]any); ok && len(l) == 0 {
		return "[]"
	}
	s, _ := v.(string)
	return s
}
