// Package codeshape keeps the project's rule on function shape: no function
// in shared/ (outside tests and the simulators, the packages whose directory
// name ends in "test") is longer than MaxLines lines or takes more than
// MaxParams parameters. Long functions and long parameter lists were where
// the house got hard to read; the test of this package fails naming each
// function that breaks the rule, so CI keeps it.
package codeshape

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The limits: a function fits on a screen, and a call site can be read
// without counting arguments.
const (
	maxLines  = 60
	maxParams = 5
)

// finding is one function that breaks the rule.
type finding struct {
	file   string
	name   string
	lines  int
	params int
}

func (f finding) String() string {
	return fmt.Sprintf("%s %s: %d lines, %d parameters (at most %d lines, %d parameters)",
		f.file, f.name, f.lines, f.params, maxLines, maxParams)
}

// scanTree parses every non-test Go file below root, skipping packages
// whose directory name ends in "test" (simulators and test helpers).
func scanTree(root string) ([]finding, error) {
	var out []finding
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasSuffix(d.Name(), "test") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found, err := scanSource(path, src)
		out = append(out, found...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	return out, nil
}

// scanSource reports the functions and methods of one file that break the
// rule. Lines count from the func keyword to the closing brace; parameters
// count names (a, b int is two), not the receiver.
func scanSource(name string, src []byte) ([]finding, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	var out []finding
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		f := finding{
			file:   name,
			name:   funcName(fn),
			lines:  fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1,
			params: countParams(fn.Type.Params),
		}
		if f.lines > maxLines || f.params > maxParams {
			out = append(out, f)
		}
	}
	return out, nil
}

func countParams(fl *ast.FieldList) int {
	n := 0
	for _, field := range fl.List {
		n += max(len(field.Names), 1)
	}
	return n
}

// funcName names a method with its receiver type, as in (*Client).Do.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	t := fn.Recv.List[0].Type
	star := ""
	if s, ok := t.(*ast.StarExpr); ok {
		star, t = "*", s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok { // generic receiver T[E]
		t = ix.X
	}
	if ix, ok := t.(*ast.IndexListExpr); ok {
		t = ix.X
	}
	recv := "?"
	if id, ok := t.(*ast.Ident); ok {
		recv = id.Name
	}
	return fmt.Sprintf("(%s%s).%s", star, recv, fn.Name.Name)
}
