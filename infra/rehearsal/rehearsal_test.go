package rehearsal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/acp-serverless/acp-serverless/infra/templatecheck"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
)

// moto_server with CloudFormation as AWS names FIFO queues and drops
// AWS::NoValue list elements (shared/mototest/moto_cfn_server.py).
func TestMain(m *testing.M) { mototest.MainCloudFormation(m) }

type build struct {
	bootstrap []byte
	err       error
}

// builds makes every function once per test binary, in sequence (the
// builds share Go's cache), and keeps the bootstraps in memory.
var builds = sync.OnceValues(func() (map[string]build, error) {
	root, err := mototest.RepoRoot()
	if err != nil {
		return nil, err
	}
	tpl, err := templatecheck.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rehearsal-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := map[string]build{}
	for _, id := range templatecheck.MakefileFunctions(tpl) {
		b, err := Build(context.Background(), root, id, filepath.Join(dir, id))
		out[id] = build{b, err}
	}
	return out, nil
})

// sam build emulated: every function the template builds with the makefile
// method has a build-<LogicalId> target that makes a linux/arm64 bootstrap.
func TestSamBuildEmulated(t *testing.T) {
	all, err := builds()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 6 {
		t.Fatalf("%d functions with BuildMethod: makefile in template.yaml, want at least 6", len(all))
	}
	for id, b := range all {
		if b.err != nil {
			t.Errorf("%s: %v", id, b.err)
		}
	}
	// A function without a target fails, naming it.
	root, _ := mototest.RepoRoot()
	if _, err := Build(context.Background(), root, "NoSuchFunction", t.TempDir()); err == nil || !strings.Contains(err.Error(), "build-NoSuchFunction") {
		t.Fatalf("a function without a make target: err %v", err)
	}
}

func TestCheckBootstrap(t *testing.T) {
	type tc struct {
		name    string
		in      []byte
		wantErr string
	}
	tests := []tc{
		{"not ELF", []byte("#!/bin/sh\necho hi\n"), "not an ELF"},
		{"empty", nil, "not an ELF"},
	}
	// This test binary is an ELF for the host; on a non-arm64 host it is
	// the wrong machine.
	if self, err := os.ReadFile("/proc/self/exe"); err == nil {
		if f, err := elf.NewFile(bytes.NewReader(self)); err == nil && f.Machine != elf.EM_AARCH64 {
			tests = append(tests, tc{"host binary " + f.Machine.String(), self, "want EM_AARCH64"})
		}
	}
	for _, tt := range tests {
		if err := CheckBootstrap(tt.in); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestStrip(t *testing.T) {
	var tpl map[string]any
	_ = json.Unmarshal([]byte(`{"Resources":{
	  "S":{"Type":"Gone"},
	  "Q":{"Type":"Kept","DependsOn":["S","R"],"Properties":{"A":{"Ref":"S"},"B":{"Fn::GetAtt":["S","Arn"]},"C":{"Fn::Sub":"x/${S}/${S.Arn}/${R}/${AWS::Region}"},"D":{"Ref":"R"}}},
	  "R":{"Type":"Kept","DependsOn":"S"}},
	  "Outputs":{"O1":{"Value":{"Ref":"S"}},"O2":{"Value":{"Ref":"R"}}}}`), &tpl)
	gone, err := Strip(tpl, map[string]bool{"Gone": true})
	if err != nil || !slices.Equal(gone, []string{"S"}) {
		t.Fatalf("stripped %v, %v", gone, err)
	}
	got, _ := json.Marshal(tpl)
	want := `{"Outputs":{"O2":{"Value":{"Ref":"R"}}},"Resources":{"Q":{"DependsOn":["R"],"Properties":{"A":"not-rehearsed:S","B":"not-rehearsed:S.Arn","C":{"Fn::Sub":"x/not-rehearsed:S/not-rehearsed:S.Arn/${R}/${AWS::Region}"},"D":{"Ref":"R"}},"Type":"Kept"},"R":{"Type":"Kept"}}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// translate runs infra/sam-translate.py with one code artifact per function
// in bucket.
func translate(t *testing.T, bucket string) map[string]any {
	t.Helper()
	root, err := mototest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", filepath.Join(root, "infra", "sam-translate.py"), filepath.Join(root, "template.yaml"), "--code-bucket", bucket)
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION="+mototest.Region)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("translate: %v", err)
	}
	var tpl map[string]any
	if err := json.Unmarshal(out, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

func codeSha256(zip []byte) string {
	sum := sha256.Sum256(zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}
