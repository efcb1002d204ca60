package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
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
	if !useMoto {
		checkREADMETree(t, dir)
	}
}

// The README's tree of the demo's output is the tree a run leaves, with
// dates, run ids, report ids and request keys as placeholders.
func checkREADMETree(t *testing.T, dir string) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(string(readme), "\n") {
		if path, ok := strings.CutPrefix(line, "demo-out/"); ok {
			want = append(want, placeholders.ReplaceAllString(strings.Fields(path)[0], "<$1>"))
		}
	}
	got := map[string]bool{}
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			if strings.HasPrefix(rel, "bucket/.meta/") {
				rel = "bucket/.meta/..."
			}
			got[generated.ReplaceAllStringFunc(rel, placeholderOf)] = true
		}
		return nil
	})
	slices.Sort(want)
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
		t.Fatalf("the README's demo tree:\n%s\nthe demo's output:\n%s", strings.Join(want, "\n"), strings.Join(keys, "\n"))
	}
}

var (
	// README placeholders, normalised to their kind.
	placeholders = regexp.MustCompile(`<(today|last-month-start|run-id|report-id|request-key)>`)
	// What a run generates: dates, run ids, report ids, request keys.
	generated = regexp.MustCompile(`\d{4}-\d{2}-\d{2}|\d{8}T\d{6}Z-[0-9a-f]{8}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24}`)
)

func placeholderOf(s string) string {
	switch {
	case len(s) == 10:
		if strings.HasSuffix(s, "-01") && s != time.Now().UTC().Format(time.DateOnly) {
			return "<last-month-start>"
		}
		return "<today>"
	case strings.Contains(s, "T"):
		return "<run-id>"
	case len(s) == 36:
		return "<report-id>"
	}
	return "<request-key>"
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
