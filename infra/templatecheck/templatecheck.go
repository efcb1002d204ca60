// Package templatecheck reads template.yaml and checks what cfn-lint does
// not: IAM statements broader than they need to be, and schedule expressions
// (cfn-lint lets `rate(5 minute)` through).
package templatecheck

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Template is the decoded template; intrinsic tags become {"Ref": x},
// {"Fn::Sub": x}, ... as in the JSON form of CloudFormation.
type Template struct {
	Parameters map[string]map[string]any `json:"Parameters"`
	Resources  map[string]Resource       `json:"Resources"`
}

// Resource is one template resource.
type Resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
}

// MakefileFunctions lists, sorted, the AWS::Serverless::Function resources
// that `sam build` builds with `make build-<LogicalId>` (Metadata:
// BuildMethod: makefile).
func MakefileFunctions(t *Template) []string {
	var out []string
	for _, name := range sortedNames(t) {
		r := t.Resources[name]
		if r.Type == "AWS::Serverless::Function" && r.Metadata["BuildMethod"] == "makefile" {
			out = append(out, name)
		}
	}
	return out
}

// The YAML form uses short intrinsic tags (!Ref, !Sub, ...), which Go's
// standard library cannot read; PyYAML comes with cfn-lint, which the
// project needs anyway.
const yamlToJSON = `
import json, sys, yaml
class L(yaml.SafeLoader): pass
def ctor(tag):
    name = "Ref" if tag == "Ref" else "Fn::" + tag
    def f(loader, node):
        if isinstance(node, yaml.ScalarNode): v = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode): v = loader.construct_sequence(node, deep=True)
        else: v = loader.construct_mapping(node, deep=True)
        if tag == "GetAtt" and isinstance(v, str): v = v.split(".", 1)
        return {name: v}
    return f
for t in ["Ref","Sub","GetAtt","Join","If","Equals","Not","And","Or","Select","Split","FindInMap","ImportValue","Base64","Condition","GetAZs","Cidr"]:
    L.add_constructor("!" + t, ctor(t))
json.dump(yaml.load(open(sys.argv[1]), Loader=L), sys.stdout, default=str)
`

// Load reads a template file.
func Load(path string) (*Template, error) {
	out, err := exec.Command("python3", "-c", yamlToJSON, path).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("templatecheck: read %s: %s", path, ee.Stderr)
		}
		return nil, fmt.Errorf("templatecheck: read %s: %w", path, err)
	}
	var t Template
	if err := json.Unmarshal(out, &t); err != nil {
		return nil, fmt.Errorf("templatecheck: decode %s: %w", path, err)
	}
	return &t, nil
}

// Actions that only accept Resource "*" (AWS documents no resource type for them).
var starOnly = map[string]bool{
	"cloudwatch:PutMetricData":      true,
	"xray:PutTraceSegments":         true,
	"xray:PutTelemetryRecords":      true,
	"logs:CreateLogGroup":           false,
	"sqs:ListQueues":                true,
	"secretsmanager:ListSecrets":    true,
	"s3:ListAllMyBuckets":           true,
	"sns:ListTopics":                true,
	"lambda:ListFunctions":          true,
	"dynamodb:ListTables":           true,
	"cloudwatch:GetMetricData":      true,
	"cloudwatch:ListMetrics":        true,
	"kms:ListKeys":                  true,
	"tag:GetResources":              true,
	"scheduler:ListSchedules":       true,
	"events:ListRules":              true,
	"states:ListStateMachines":      true,
	"ec2:DescribeNetworkInterfaces": true,
}

// SAM policy templates and managed policies that grant more than the
// functions need; statements scoped to a key prefix are used instead.
var broadPolicies = map[string]bool{
	"S3CrudPolicy": true, "S3FullAccessPolicy": true, "AmazonS3FullAccess": true,
	"SecretsManagerReadWrite": true, "AdministratorAccess": true, "PowerUserAccess": true,
	"AmazonDynamoDBFullAccess": true, "AmazonSNSFullAccess": true, "AmazonSQSFullAccess": true,
	"AWSLambda_FullAccess": true,
}

// Finding is one thing the checks object to.
type Finding struct {
	Resource string
	Problem  string
}

func (f Finding) String() string { return f.Resource + ": " + f.Problem }

// IAMWildcards lists statements with a wildcard action or resource where a
// narrower one exists, and broad managed policies.
func IAMWildcards(t *Template) []Finding {
	var out []Finding
	names := make([]string, 0, len(t.Resources))
	for n := range t.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		r := t.Resources[name]
		var docs []any
		switch r.Type {
		case "AWS::Serverless::Function":
			pols := r.Properties["Policies"]
			if s, ok := pols.(string); ok {
				pols = []any{s}
			}
			list, _ := pols.([]any)
			for _, p := range list {
				switch p := p.(type) {
				case string:
					if broadPolicies[p] {
						out = append(out, Finding{name, "broad managed policy " + p})
					}
				case map[string]any:
					if st, ok := p["Statement"]; ok {
						docs = append(docs, map[string]any{"Statement": st})
					}
					for k := range p {
						if broadPolicies[k] {
							out = append(out, Finding{name, "broad SAM policy template " + k})
						}
					}
				}
			}
		case "AWS::IAM::Role":
			for _, p := range asList(r.Properties["Policies"]) {
				if m, ok := p.(map[string]any); ok {
					docs = append(docs, m["PolicyDocument"])
				}
			}
			for _, arn := range asList(r.Properties["ManagedPolicyArns"]) {
				if s, ok := arn.(string); ok {
					parts := strings.Split(s, "/")
					if broadPolicies[parts[len(parts)-1]] {
						out = append(out, Finding{name, "broad managed policy " + s})
					}
				}
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			docs = append(docs, r.Properties["PolicyDocument"])
		default:
			continue
		}
		for _, d := range docs {
			dm, _ := d.(map[string]any)
			for _, st := range asList(dm["Statement"]) {
				out = append(out, checkStatement(name, st)...)
			}
		}
	}
	return out
}

func checkStatement(res string, st any) []Finding {
	m, _ := st.(map[string]any)
	if m == nil || m["Effect"] != "Allow" {
		return nil
	}
	var out []Finding
	actions := strs(m["Action"])
	allStarOnly := len(actions) > 0
	for _, a := range actions {
		if a == "*" || strings.HasSuffix(a, ":*") || strings.Contains(a, "*") {
			out = append(out, Finding{res, "wildcard action " + a})
		}
		if !starOnly[a] {
			allStarOnly = false
		}
	}
	if m["NotAction"] != nil {
		out = append(out, Finding{res, "NotAction in an Allow statement"})
	}
	for _, r := range asList(m["Resource"]) {
		if s, ok := r.(string); ok && (s == "*" || strings.HasSuffix(s, ":*")) && !allStarOnly {
			out = append(out, Finding{res, fmt.Sprintf("wildcard resource %q for %v", s, actions)})
		}
		sub, _ := r.(map[string]any)
		if s, ok := sub["Fn::Sub"].(string); ok {
			switch {
			case s == "*" || strings.HasSuffix(s, ":*"):
				out = append(out, Finding{res, fmt.Sprintf("wildcard resource %q for %v", s, actions)})
			case strings.HasSuffix(s, ".Arn}/*"):
				out = append(out, Finding{res, fmt.Sprintf("whole-bucket object access %q for %v: scope it to a key prefix", s, actions)})
			}
		}
	}
	if m["Resource"] == nil && m["NotResource"] == nil {
		out = append(out, Finding{res, "statement without Resource"})
	}
	return out
}

var (
	rateRE = regexp.MustCompile(`^rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)$`)
	cronRE = regexp.MustCompile(`^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`)
	atRE   = regexp.MustCompile(`^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$`)
)

// CheckScheduleExpression validates an EventBridge Scheduler expression:
// rate(1 minute) is singular, rate(5 minutes) plural; cron has six fields
// and exactly one of day-of-month / day-of-week is "?".
func CheckScheduleExpression(e string) error {
	switch {
	case rateRE.MatchString(e), atRE.MatchString(e):
		return nil
	case cronRE.MatchString(e):
		f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(e, "cron("), ")"))
		if (f[2] == "?") == (f[4] == "?") {
			return fmt.Errorf("%q: exactly one of day-of-month and day-of-week must be ?", e)
		}
		return nil
	}
	return fmt.Errorf("%q is not rate(N unit[s]), cron(6 fields) or at(...)", e)
}

// ScheduleExpressions checks every ScheduleV2 expression, literal or the
// default of the parameter it refers to.
func ScheduleExpressions(t *Template) []Finding {
	var out []Finding
	for name, r := range t.Resources {
		var exprs []any
		if r.Type == "AWS::Serverless::Function" {
			events, _ := r.Properties["Events"].(map[string]any)
			for _, ev := range events {
				em, _ := ev.(map[string]any)
				if em["Type"] == "ScheduleV2" || em["Type"] == "Schedule" {
					props, _ := em["Properties"].(map[string]any)
					exprs = append(exprs, props["ScheduleExpression"])
				}
			}
		}
		if r.Type == "AWS::Scheduler::Schedule" {
			exprs = append(exprs, r.Properties["ScheduleExpression"])
		}
		for _, e := range exprs {
			s, ok := e.(string)
			if ref, isRef := e.(map[string]any); isRef {
				p, _ := ref["Ref"].(string)
				s, ok = t.Parameters[p]["Default"].(string)
			}
			if !ok {
				out = append(out, Finding{name, fmt.Sprintf("schedule expression %v cannot be checked", e)})
				continue
			}
			if err := CheckScheduleExpression(s); err != nil {
				out = append(out, Finding{name, err.Error()})
			}
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func strs(v any) []string {
	var out []string
	for _, e := range asList(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Operability lists functions without an Errors and a Throttles alarm, and
// scheduled functions whose failed async invocations go nowhere.
func Operability(t *Template) []Finding {
	alarms := map[string]map[string]bool{} // function logical id -> metric names
	for _, r := range t.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" || r.Properties["Namespace"] != "AWS/Lambda" {
			continue
		}
		metric, _ := r.Properties["MetricName"].(string)
		for _, d := range asList(r.Properties["Dimensions"]) {
			dm, _ := d.(map[string]any)
			v, _ := dm["Value"].(map[string]any)
			if ref, ok := v["Ref"].(string); ok && dm["Name"] == "FunctionName" {
				if alarms[ref] == nil {
					alarms[ref] = map[string]bool{}
				}
				alarms[ref][metric] = true
			}
		}
	}
	var out []Finding
	for name, r := range t.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		for _, m := range []string{"Errors", "Throttles"} {
			if !alarms[name][m] {
				out = append(out, Finding{name, "no " + m + " alarm"})
			}
		}
		events, _ := r.Properties["Events"].(map[string]any)
		scheduled := false
		for _, ev := range events {
			em, _ := ev.(map[string]any)
			scheduled = scheduled || em["Type"] == "ScheduleV2" || em["Type"] == "Schedule"
		}
		if scheduled {
			cfg, _ := r.Properties["EventInvokeConfig"].(map[string]any)
			dest, _ := cfg["DestinationConfig"].(map[string]any)
			if dest["OnFailure"] == nil {
				out = append(out, Finding{name, "scheduled, but failed async invocations have no OnFailure destination"})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// functionStatements returns the inline statements of a SAM function's
// Policies (both branches of an Fn::If are included: either may be deployed).
func functionStatements(r Resource) []map[string]any {
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			if st, ok := v["Statement"]; ok {
				for _, s := range asList(st) {
					if m, ok := s.(map[string]any); ok {
						out = append(out, m)
					}
				}
				return
			}
			if branches, ok := v["Fn::If"].([]any); ok && len(branches) == 3 {
				walk(branches[1:])
			}
		}
	}
	walk(r.Properties["Policies"])
	return out
}

// bucketPrefix splits "${X.Arn}/prefix/*" (an Fn::Sub) into X and "prefix/".
func bucketPrefix(res any) (bucket, prefix string, ok bool) {
	m, _ := res.(map[string]any)
	s, _ := m["Fn::Sub"].(string)
	rest, found := strings.CutPrefix(s, "${")
	if !found {
		return "", "", false
	}
	bucket, rest, found = strings.Cut(rest, ".Arn}/")
	if !found || !strings.HasSuffix(rest, "*") {
		return "", "", false
	}
	return bucket, strings.TrimSuffix(rest, "*"), true
}

// ListBucketForReads enforces a rule moto does not emulate: S3 answers
// GetObject of a missing key with 403 AccessDenied, not 404, when the caller
// lacks s3:ListBucket (API-NOTES: "A function that probes for an object it may
// not have written needs `s3:ListBucket` on the bucket (a `s3:prefix`
// condition keeps it to its own prefix)"). Every function with s3:GetObject
// on bucket/prefix* needs s3:ListBucket on that bucket with StringLike
// s3:prefix covering prefix*.
func ListBucketForReads(t *Template) []Finding {
	var out []Finding
	for _, name := range sortedNames(t) {
		r := t.Resources[name]
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		sts := functionStatements(r)
		for _, st := range sts {
			if st["Effect"] != "Allow" || !slices.Contains(strs(st["Action"]), "s3:GetObject") {
				continue
			}
			for _, res := range asList(st["Resource"]) {
				bucket, prefix, ok := bucketPrefix(res)
				if ok && !hasListBucket(sts, bucket, prefix+"*") {
					out = append(out, Finding{name, fmt.Sprintf("s3:GetObject on %s/%s* without s3:ListBucket on %s conditioned on s3:prefix %s*: a missing key answers 403, not 404", bucket, prefix, bucket, prefix)})
				}
			}
		}
	}
	return out
}

func hasListBucket(sts []map[string]any, bucket, prefix string) bool {
	for _, st := range sts {
		if st["Effect"] != "Allow" || !slices.Contains(strs(st["Action"]), "s3:ListBucket") {
			continue
		}
		onBucket := false
		for _, res := range asList(st["Resource"]) {
			m, _ := res.(map[string]any)
			ga, _ := m["Fn::GetAtt"].([]any)
			onBucket = onBucket || len(ga) == 2 && ga[0] == bucket && ga[1] == "Arn"
		}
		cond, _ := st["Condition"].(map[string]any)
		like, _ := cond["StringLike"].(map[string]any)
		if onBucket && slices.Contains(strs(like["s3:prefix"]), prefix) {
			return true
		}
	}
	return false
}

func sortedNames(t *Template) []string {
	names := make([]string, 0, len(t.Resources))
	for n := range t.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AlarmTopics lists SNS topics that alarms publish to but that are encrypted
// with the AWS managed key, whose policy cannot admit CloudWatch
// (API-NOTES: "CloudWatch alarms cannot publish to an SNS topic encrypted
// with the AWS managed key `alias/aws/sns`").
func AlarmTopics(t *Template) []Finding {
	targets := map[string]bool{}
	for _, r := range t.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		for _, a := range asList(r.Properties["AlarmActions"]) {
			m, _ := a.(map[string]any)
			if ref, ok := m["Ref"].(string); ok {
				targets[ref] = true
			}
		}
	}
	var out []Finding
	for _, name := range sortedNames(t) {
		r := t.Resources[name]
		if targets[name] && r.Type == "AWS::SNS::Topic" && r.Properties["KmsMasterKeyId"] == "alias/aws/sns" {
			out = append(out, Finding{name, "alarm topic encrypted with alias/aws/sns: CloudWatch cannot publish to it"})
		}
	}
	return out
}

var overrideRE = regexp.MustCompile(`(?:^|\s)([A-Za-z0-9]+)=("([^"]*)"|(\S*))`)

// Overrides reads the parameter values a samconfig.toml's
// parameter_overrides lines set (Name="value" or Name=value pairs).
func Overrides(samconfig string) map[string]string {
	set := map[string]string{}
	for _, line := range strings.Split(samconfig, "\n") {
		key, val, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.TrimSpace(key) != "parameter_overrides" {
			continue
		}
		val = strings.ReplaceAll(strings.TrimSpace(val), `\"`, `"`)
		val = strings.TrimSuffix(strings.TrimPrefix(val, `"`), `"`)
		for _, m := range overrideRE.FindAllStringSubmatch(val, -1) {
			set[m[1]] = m[3] + m[4]
		}
	}
	return set
}

// MissingOverrides lists the parameters without a Default that a
// samconfig.toml's parameter_overrides lines do not set: `sam deploy` with
// that file would stop and ask, or fail in CI.
func MissingOverrides(t *Template, samconfig string) []Finding {
	set := Overrides(samconfig)
	var out []Finding
	names := make([]string, 0, len(t.Parameters))
	for n := range t.Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, hasDefault := t.Parameters[n]["Default"]; !hasDefault && set[n] == "" {
			out = append(out, Finding{n, "parameter without a Default is not in parameter_overrides"})
		}
	}
	return out
}

// Billable resources the README's cost table states counts for: its rows
// begin "| <label>: <count>".
var costLabels = map[string]func(t *Template) int{
	"Lambda functions":        typeCount("AWS::Serverless::Function"),
	"CloudWatch alarms":       typeCount("AWS::CloudWatch::Alarm"),
	"KMS keys":                typeCount("AWS::KMS::Key"),
	"CloudWatch log groups":   typeCount("AWS::Logs::LogGroup"),
	"SQS queues":              typeCount("AWS::SQS::Queue"),
	"SNS topics":              typeCount("AWS::SNS::Topic"),
	"Secrets Manager secrets": typeCount("AWS::SecretsManager::Secret"),
	"EventBridge schedules":   scheduleCount,
}

func typeCount(ty string) func(t *Template) int {
	return func(t *Template) int {
		n := 0
		for _, r := range t.Resources {
			if r.Type == ty {
				n++
			}
		}
		return n
	}
}

func scheduleCount(t *Template) int {
	n := typeCount("AWS::Scheduler::Schedule")(t)
	for _, r := range t.Resources {
		events, _ := r.Properties["Events"].(map[string]any)
		for _, ev := range events {
			if em, _ := ev.(map[string]any); em["Type"] == "ScheduleV2" || em["Type"] == "Schedule" {
				n++
			}
		}
	}
	return n
}

var costRow = regexp.MustCompile(`(?m)^\|\s*([A-Za-z][A-Za-z ]*[A-Za-z]):\s*(\d+)\b`)

// CostTable compares the counts the README's "## Costs" section states with
// the template's resources: a billable kind without a row, or a row whose
// count is wrong, is a finding.
func CostTable(t *Template, readme string) []Finding {
	_, sec, ok := strings.Cut("\n"+readme, "\n## Costs")
	if !ok {
		return []Finding{{"README.md", "no \"## Costs\" section"}}
	}
	if end := strings.Index(sec, "\n## "); end >= 0 {
		sec = sec[:end]
	}
	stated := map[string]int{}
	for _, m := range costRow.FindAllStringSubmatch(sec, -1) {
		n, _ := strconv.Atoi(m[2])
		stated[m[1]] = n
	}
	var out []Finding
	labels := make([]string, 0, len(costLabels))
	for l := range costLabels {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		want := costLabels[l](t)
		got, ok := stated[l]
		switch {
		case !ok:
			out = append(out, Finding{"README.md", fmt.Sprintf("cost table has no row \"| %s: %d ...\"", l, want)})
		case got != want:
			out = append(out, Finding{"README.md", fmt.Sprintf("cost table says %s: %d, template.yaml has %d", l, got, want)})
		}
	}
	return out
}
