package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
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
	// What a step prints while it runs stands under its own heading.
	if a, p := strings.Index(out.String(), "== policy-audit"), strings.Index(out.String(), "(SNS stand-in)"); p < a {
		t.Fatalf("the audit's message is printed before its heading (%d < %d):\n%s", p, a, out.String())
	}
	checkReports(t, filepath.Join(dir, "bucket", "reports"))
}

// The demo's reports are what a real run gives: whole CSV (every row as
// wide as the header) and JSON documents, naming the simulated customers.
func checkReports(t *testing.T, root string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "kind=*", "dt=*", "*"))
	if len(files) < 2 {
		t.Fatalf("reports: %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(f, ".csv"):
			if _, err := csv.NewReader(bytes.NewReader(b)).ReadAll(); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		case strings.HasSuffix(f, ".json"):
			if !json.Valid(b) {
				t.Errorf("%s: not JSON", f)
			}
		default:
			t.Errorf("%s: unexpected report file", f)
		}
		if !bytes.Contains(b, []byte("Customer 000-0000")) {
			t.Errorf("%s names none of the simulated customers", f)
		}
	}
}
