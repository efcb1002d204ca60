package mototest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// StartCloudFormation launches moto_server through moto_cfn_server.py, whose
// CloudFormation names FIFO queues and drops AWS::NoValue list elements as
// AWS CloudFormation does (see the script): the deploy rehearsal creates the
// translated template's stack there. IAM is not enforced.
func StartCloudFormation() (*Server, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("mototest: cannot locate moto_cfn_server.py")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, fmt.Errorf("mototest: moto_server not found on PATH (install Python moto[server] 5): %w", err)
	}
	return start([]string{"python3", filepath.Join(filepath.Dir(self), "moto_cfn_server.py")}, nil)
}

// MainCloudFormation is Main with a server from StartCloudFormation.
func MainCloudFormation(m *testing.M) { run(m, StartCloudFormation) }
