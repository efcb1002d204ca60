package codeshape

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The project's own packages keep the rule.
func TestSharedKeepsTheShape(t *testing.T) {
	found, err := scanTree("../../shared")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Error(f)
	}
}

// body returns a function body of n lines in total, counting the func line
// and the closing brace.
func body(n int) string {
	return strings.Repeat("\t_ = 0\n", n-2)
}

func TestScanSource(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "name lines params" of each finding
	}{
		{"short function", "func f(a, b int) {\n" + body(10) + "}\n", nil},
		{"sixty lines is allowed", "func f() {\n" + body(60) + "}\n", nil},
		{"sixty-one lines is not", "func f() {\n" + body(61) + "}\n", []string{"f 61 0"}},
		{"five parameters is allowed", "func f(a, b, c int, d string, e bool) {}\n", nil},
		{"six grouped names count one each", "func f(a, b, c, d, e, g int) {}\n", []string{"f 1 6"}},
		{"unnamed parameters count", "func f(int, int, int, int, int, string) {}\n", []string{"f 1 6"}},
		{"receiver is not a parameter", "func (c *C) f(a, b, c, d, e int) {}\n", nil},
		{"method named with its receiver", "func (c *C) f(a, b, c, d, e, g int) {}\n", []string{"(*C).f 1 6"}},
		{"generic receiver", "func (l List[T]) f(a, b, c, d, e, g int) {}\n", []string{"(List).f 1 6"}},
		{"both limits", "func f(a, b, c, d, e, g int) {\n" + body(70) + "}\n", []string{"f 70 6"}},
		{"declaration without body", "func f(a, b, c, d, e, g int)\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, err := scanSource("x.go", []byte("package x\n\n"+tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range found {
				got = append(got, fmt.Sprintf("%s %d %d", f.name, f.lines, f.params))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScanSourceRefusesBrokenGo(t *testing.T) {
	if _, err := scanSource("x.go", []byte("package x\nfunc {")); err == nil || !strings.Contains(err.Error(), "parse x.go") {
		t.Fatalf("err = %v, want a parse error naming the file", err)
	}
}

// The walk skips tests and the simulator packages (directories ending in
// "test"), and reads the rest.
func TestScanTreeSkipsTestsAndSimulators(t *testing.T) {
	dir := t.TempDir()
	long := "package p\n\nfunc long(a, b, c, d, e, g int) {}\n"
	files := map[string]string{
		"p/p.go":               long,
		"p/p_test.go":          long,
		"p/ptest/sim.go":       long,
		"p/inner/q/q.go":       long,
		"p/inner/q/qtest/s.go": long,
	}
	writeFiles(t, dir, files)
	found, err := scanTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		got = append(got, strings.TrimPrefix(f.file, dir+"/"))
	}
	if want := "[p/inner/q/q.go p/p.go]"; fmt.Sprint(got) != want {
		t.Errorf("files = %v, want %s", got, want)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
