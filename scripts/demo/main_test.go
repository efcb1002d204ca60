package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// The demo runs end to end and every step reports.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "out")
	if err := run(context.Background(), dir, false, &out); err != nil {
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
