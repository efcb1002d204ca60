package mototest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Account and Region are moto's defaults, used in the ARNs tests build.
const (
	Account = "123456789012"
	Region  = "us-east-1"
)

// Translated is template.yaml after the SAM transform (plain CloudFormation).
type Translated struct {
	Conditions map[string]any                `json:"Conditions"`
	Resources  map[string]TranslatedResource `json:"Resources"`
	Raw        []byte                        `json:"-"`
}

// TranslatedResource is one resource of the translated template.
type TranslatedResource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

// RepoRoot is the directory holding go.mod, found from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("mototest: repo root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("mototest: repo root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Translate runs infra/sam-translate.py (aws-sam-translator, offline) on the
// repository's template.yaml. deleteStatements ("FunctionId:N") translate a
// copy with those inline statements removed.
func Translate(ctx context.Context, deleteStatements ...string) (*Translated, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	args := []string{filepath.Join(root, "infra", "sam-translate.py"), filepath.Join(root, "template.yaml")}
	for _, d := range deleteStatements {
		args = append(args, "--delete-statement", d)
	}
	cmd := exec.CommandContext(ctx, "python3", args...)
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION="+Region)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("mototest: translate template: %w: %s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("mototest: translate template: %w", err)
	}
	t := &Translated{Raw: out}
	if err := json.Unmarshal(out, t); err != nil {
		return nil, fmt.Errorf("mototest: decode translated template: %w", err)
	}
	return t, nil
}

// Functions lists the logical ids of the translated template's Lambda functions.
func (t *Translated) Functions() []string {
	var out []string
	for id, r := range t.Resources {
		if r.Type == "AWS::Lambda::Function" {
			out = append(out, id)
		}
	}
	return out
}

// Names maps what the template refers to onto what the test created in moto:
// "X" is the value of !Ref X (a secret's ARN, a bucket's or table's name, a
// queue's URL, a topic's ARN, a parameter's value), "X.Arn" the value of
// !GetAtt X.Arn. Pseudo parameters are filled in.
type Names map[string]string

func (n Names) lookup(name string) (string, bool) {
	switch name {
	case "AWS::Region":
		return Region, true
	case "AWS::AccountId":
		return Account, true
	case "AWS::Partition":
		return "aws", true
	}
	v, ok := n[name]
	return v, ok
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// resolver turns a policy document's intrinsic functions into values.
type resolver struct {
	names Names
	conds map[string]any
}

// noValue marks a value removed by !Ref AWS::NoValue.
type noValue struct{}

func (r *resolver) resolve(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		var out []any
		for _, e := range v {
			x, err := r.resolve(e)
			if err != nil {
				return nil, err
			}
			if _, gone := x.(noValue); !gone {
				out = append(out, x)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(k, arg)
				}
			}
		}
		out := map[string]any{}
		for k, e := range v {
			x, err := r.resolve(e)
			if err != nil {
				return nil, err
			}
			if _, gone := x.(noValue); !gone {
				out[k] = x
			}
		}
		return out, nil
	}
	return v, nil
}

func (r *resolver) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		if name == "AWS::NoValue" {
			return noValue{}, nil
		}
		if v, ok := r.names.lookup(name); ok {
			return v, nil
		}
		return nil, fmt.Errorf("mototest: no value for !Ref %s", name)
	case "Fn::GetAtt":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, fmt.Errorf("mototest: malformed Fn::GetAtt %v", arg)
		}
		name := fmt.Sprintf("%v.%v", parts[0], parts[1])
		if v, ok := r.names.lookup(name); ok {
			return v, nil
		}
		return nil, fmt.Errorf("mototest: no value for !GetAtt %s", name)
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::If":
		parts, _ := arg.([]any)
		if len(parts) != 3 {
			return nil, fmt.Errorf("mototest: malformed Fn::If %v", arg)
		}
		name, _ := parts[0].(string)
		ok, err := r.condition(r.conds[name])
		if err != nil {
			return nil, fmt.Errorf("mototest: condition %s: %w", name, err)
		}
		if ok {
			return r.resolve(parts[1])
		}
		return r.resolve(parts[2])
	}
	return nil, fmt.Errorf("mototest: intrinsic %s is not resolved", fn)
}

func (r *resolver) sub(arg any) (any, error) {
	s, ok := arg.(string)
	if !ok {
		return nil, fmt.Errorf("mototest: only the one-string form of Fn::Sub is resolved: %v", arg)
	}
	var missing []string
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := r.names.lookup(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("mototest: no value for ${%s} in %q", strings.Join(missing, "}, ${"), s)
	}
	return strings.ReplaceAll(out, "${!", "${"), nil
}

// condition evaluates the condition functions templates use.
func (r *resolver) condition(c any) (bool, error) {
	m, _ := c.(map[string]any)
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("malformed Fn::Not")
			}
			v, err := r.condition(args[0])
			return !v, err
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("malformed Fn::Equals")
			}
			a, err := r.resolve(args[0])
			if err != nil {
				return false, err
			}
			b, err := r.resolve(args[1])
			return fmt.Sprint(a) == fmt.Sprint(b), err
		case "Condition":
			name, _ := arg.(string)
			return r.condition(r.conds[name])
		}
		return false, fmt.Errorf("condition function %s is not evaluated", fn)
	}
	return false, fmt.Errorf("malformed condition %v", c)
}

// Role is a function's role as created in moto.
type Role struct {
	Name string
	// Policies are the role's inline policy documents, resolved.
	Policies    []string
	Credentials aws.Credentials
}

// FunctionRole creates in moto the role SAM gives function fn (a logical id
// of the translated template) with exactly its statements, resolved against
// names, assumes it and returns an SDK configuration with its credentials.
// The role trusts the admin user (standing in for the Lambda service).
func (s *Server) FunctionRole(ctx context.Context, t *Translated, fn string, names Names) (aws.Config, *Role, error) {
	if s.admin == nil {
		return aws.Config{}, nil, errors.New("mototest: FunctionRole needs a server from StartIAM")
	}
	roleID, err := t.roleOf(fn)
	if err != nil {
		return aws.Config{}, nil, err
	}
	props := t.Resources[roleID].Properties
	res := &resolver{names: names, conds: t.Conditions}
	pols, err := res.resolve(props["Policies"])
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("mototest: role of %s: %w", fn, err)
	}
	admin := s.Config()
	ic := iam.NewFromConfig(admin)
	role := &Role{Name: Name(roleID)}
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:user/admin","Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, Account)
	created, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role.Name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("mototest: create role %s: %w", role.Name, err)
	}
	list, _ := pols.([]any)
	for _, p := range list {
		pm, _ := p.(map[string]any)
		dm, _ := pm["PolicyDocument"].(map[string]any)
		if dm["Version"] == nil { // SAM omits it; moto refuses documents without one
			dm["Version"] = "2012-10-17"
		}
		doc, _ := json.Marshal(dm)
		name, _ := pm["PolicyName"].(string)
		if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role.Name), PolicyName: aws.String(name), PolicyDocument: aws.String(string(doc))}); err != nil {
			return aws.Config{}, nil, fmt.Errorf("mototest: role %s: put policy %s: %w", role.Name, name, err)
		}
		role.Policies = append(role.Policies, string(doc))
	}
	managed, _ := props["ManagedPolicyArns"].([]any)
	for _, arn := range managed {
		if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role.Name), PolicyArn: aws.String(fmt.Sprint(arn))}); err != nil {
			return aws.Config{}, nil, fmt.Errorf("mototest: role %s: attach %v: %w", role.Name, arn, err)
		}
	}
	out, err := sts.NewFromConfig(admin).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: created.Role.Arn, RoleSessionName: aws.String(fn)})
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("mototest: assume role %s: %w", role.Name, err)
	}
	c := out.Credentials
	role.Credentials = aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}
	cfg := admin.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(role.Credentials.AccessKeyID, role.Credentials.SecretAccessKey, role.Credentials.SessionToken)
	return cfg, role, nil
}

// roleOf is the logical id of the role the function's Role property names.
func (t *Translated) roleOf(fn string) (string, error) {
	r, ok := t.Resources[fn]
	if !ok || r.Type != "AWS::Lambda::Function" {
		return "", fmt.Errorf("mototest: no function %s in the template", fn)
	}
	ga, _ := r.Properties["Role"].(map[string]any)
	parts, _ := ga["Fn::GetAtt"].([]any)
	if len(parts) != 2 {
		return "", fmt.Errorf("mototest: function %s: Role is not a !GetAtt of a template role", fn)
	}
	id, _ := parts[0].(string)
	return id, nil
}

// Allows evaluates the role's inline statements for one action on one
// resource as moto does (Allow unless a matching Deny; "*" wildcards). It is
// for the calls tests answer themselves (Lambda Invoke), which never reach moto.
func (r *Role) Allows(action, resource string) bool {
	allowed := false
	for _, p := range r.Policies {
		var doc struct {
			Statement []struct {
				Effect   string
				Action   any
				Resource any
			}
		}
		if json.Unmarshal([]byte(p), &doc) != nil {
			continue
		}
		for _, st := range doc.Statement {
			if !matchAny(st.Action, action) || !matchAny(st.Resource, resource) {
				continue
			}
			if st.Effect == "Deny" {
				return false
			}
			allowed = allowed || st.Effect == "Allow"
		}
	}
	return allowed
}

func matchAny(patterns any, value string) bool {
	list, ok := patterns.([]any)
	if !ok {
		list = []any{patterns}
	}
	for _, p := range list {
		s, _ := p.(string)
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(s), `\*`, ".*") + "$"
		if regexp.MustCompile(re).MatchString(value) {
			return true
		}
	}
	return false
}

// IsAccessDenied reports whether err is IAM's refusal: moto answers it with
// 403 (an XML body even to JSON-protocol clients, so the SDK may not decode
// a code).
func IsAccessDenied(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == 403 {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "AccessDenied")
}
