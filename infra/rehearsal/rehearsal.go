// Package rehearsal rehearses the deploy without AWS: it builds every
// function as `sam build` does (make build-<LogicalId>), translates the
// template as SAM does, and creates the stack in moto's CloudFormation. What
// moto cannot create is stripped from the rehearsal copy and named, never
// faked (see NotRehearsed).
package rehearsal

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Build runs `make build-<id> ARTIFACTS_DIR=<dir>` in the repository root,
// as `sam build` does for a function with BuildMethod: makefile, and returns
// the bootstrap it made, checked to be a linux/arm64 executable.
func Build(ctx context.Context, root, id, dir string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "build-"+id, "ARTIFACTS_DIR="+dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("rehearsal: make build-%s: %w: %s", id, err, bytes.TrimSpace(out))
	}
	b, err := os.ReadFile(filepath.Join(dir, "bootstrap"))
	if err != nil {
		return nil, fmt.Errorf("rehearsal: make build-%s made no bootstrap: %w", id, err)
	}
	if err := CheckBootstrap(b); err != nil {
		return nil, fmt.Errorf("rehearsal: build-%s: %w", id, err)
	}
	return b, nil
}

// CheckBootstrap accepts what Lambda's provided.al2023 runtime on arm64
// runs: a Linux ELF executable for AArch64.
func CheckBootstrap(b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("bootstrap is not an ELF file: %w", err)
	}
	defer f.Close()
	switch {
	case f.Machine != elf.EM_AARCH64:
		return fmt.Errorf("bootstrap is for %v, want EM_AARCH64 (Architectures: [arm64])", f.Machine)
	case f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN:
		return fmt.Errorf("bootstrap is an ELF %v, not an executable", f.Type)
	case f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX:
		return fmt.Errorf("bootstrap is for OS ABI %v, not Linux", f.OSABI)
	}
	return nil
}

// Zip packs a bootstrap as `sam package` does: one executable file named
// bootstrap at the archive's root.
func Zip(bootstrap []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, fmt.Errorf("rehearsal: zip bootstrap: %w", err)
	}
	if _, err := w.Write(bootstrap); err != nil {
		return nil, fmt.Errorf("rehearsal: zip bootstrap: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("rehearsal: zip bootstrap: %w", err)
	}
	return buf.Bytes(), nil
}

// NotRehearsed is the stand-in value of a reference to a stripped resource:
// a function's environment shows it instead of a real name.
const NotRehearsed = "not-rehearsed:"

// Strip removes from a translated template (decoded JSON) every resource
// whose type is in types, and every output and DependsOn entry naming one;
// each !Ref, !GetAtt and ${...} of a removed resource becomes
// NotRehearsed+"<LogicalId>[.<attribute>]". It returns the removed logical
// ids, sorted.
func Strip(tpl map[string]any, types map[string]bool) ([]string, error) {
	res, ok := tpl["Resources"].(map[string]any)
	if !ok {
		return nil, errors.New("rehearsal: template has no Resources")
	}
	gone := map[string]bool{}
	for id, r := range res {
		rm, _ := r.(map[string]any)
		if t, _ := rm["Type"].(string); types[t] {
			gone[id] = true
			delete(res, id)
		}
	}
	for id, r := range res {
		rm, _ := r.(map[string]any)
		rm["DependsOn"] = dropNames(rm["DependsOn"], gone)
		if rm["DependsOn"] == nil {
			delete(rm, "DependsOn")
		}
		res[id] = replaceRefs(rm, gone)
	}
	outs, _ := tpl["Outputs"].(map[string]any)
	for name, o := range outs {
		if r := replaceRefs(o, gone); fmt.Sprint(r) != fmt.Sprint(o) {
			delete(outs, name)
		}
	}
	ids := make([]string, 0, len(gone))
	for id := range gone {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

func dropNames(v any, gone map[string]bool) any {
	switch v := v.(type) {
	case string:
		if gone[v] {
			return nil
		}
		return v
	case []any:
		var out []any
		for _, e := range v {
			if s, _ := e.(string); !gone[s] {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}

var subRef = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}`)

func replaceRefs(v any, gone map[string]bool) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = replaceRefs(e, gone)
		}
		return out
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok && len(v) == 1 && gone[ref] {
			return NotRehearsed + ref
		}
		if ga, ok := v["Fn::GetAtt"].([]any); ok && len(v) == 1 && len(ga) == 2 {
			if id, _ := ga[0].(string); gone[id] {
				return fmt.Sprintf("%s%s.%v", NotRehearsed, id, ga[1])
			}
		}
		if s, ok := v["Fn::Sub"].(string); ok && len(v) == 1 {
			return map[string]any{"Fn::Sub": subRef.ReplaceAllStringFunc(s, func(m string) string {
				p := subRef.FindStringSubmatch(m)
				if !gone[p[1]] {
					return m
				}
				return NotRehearsed + p[1] + p[2]
			})}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = replaceRefs(e, gone)
		}
		return out
	}
	return v
}

// Types lists the resource types of a translated template, sorted.
func Types(tpl map[string]any) []string {
	seen := map[string]bool{}
	res, _ := tpl["Resources"].(map[string]any)
	for _, r := range res {
		rm, _ := r.(map[string]any)
		if t, ok := rm["Type"].(string); ok {
			seen[t] = true
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// MotoLacks asks the installed moto which of types its CloudFormation has
// no model for (it skips such a resource with a warning and still reports
// CREATE_COMPLETE, so the rehearsal must not rely on it).
func MotoLacks(ctx context.Context, types []string) ([]string, error) {
	const script = `
import importlib, pkgutil, sys, logging, warnings
logging.disable(logging.CRITICAL); warnings.simplefilter("ignore")
import moto
for m in pkgutil.iter_modules(moto.__path__):
    try: importlib.import_module("moto." + m.name + ".models")
    except Exception: pass
from moto.cloudformation.parsing import resource_class_from_type
for t in sys.argv[1:]:
    if resource_class_from_type(t) is None: print(t)
`
	out, err := exec.CommandContext(ctx, "python3", append([]string{"-c", script}, types...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("rehearsal: ask moto for its CloudFormation types: %w", err)
	}
	return strings.Fields(string(out)), nil
}
