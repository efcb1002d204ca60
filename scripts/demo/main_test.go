package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// The demo runs end to end, on local folders and on moto, and every step reports.
func TestDemo(t *testing.T) {
	for _, useMoto := range []bool{false, true} {
		t.Run(map[bool]string{false: "local", true: "moto"}[useMoto], func(t *testing.T) { testDemo(t, useMoto) })
	}
}

func testDemo(t *testing.T, useMoto bool) {
	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "out")
	if err := run(context.Background(), dir, false, useMoto, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, s := range steps {
		if !strings.Contains(out.String(), "== "+s.name) {
			t.Fatalf("step %s did not report:\n%s", s.name, out.String())
		}
	}
	if !strings.Contains(out.String(), `"refreshed": true`) {
		t.Fatalf("token refresh did not mint:\n%s", out.String())
	}
}
