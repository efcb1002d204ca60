package acronistest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Spec is one of Acronis's OpenAPI documents, kept in testdata/ byte for byte
// as Acronis publishes them. The simulator's answers are checked against it so
// that a simulator drifting from the real API fails a test.
type Spec struct {
	doc map[string]any
}

var specs sync.Map // file name -> *Spec

// Known spec files in testdata/.
const (
	SpecAccountManagement = "acronis-account-management-v2-openapi.json"
	SpecPolicyManagement  = "acronis-resource-policy-management-v4-openapi.json"
)

// LoadSpec reads a spec from this package's testdata folder.
func LoadSpec(name string) (*Spec, error) {
	if s, ok := specs.Load(name); ok {
		return s.(*Spec), nil
	}
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "testdata", name))
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("openapi: %s: %w", name, err)
	}
	s := &Spec{doc: doc}
	specs.Store(name, s)
	return s, nil
}

// CheckResponse validates a JSON body against the schema the spec gives for
// method, path (as written in the spec, e.g. "/tenants/{tenant_id}") and
// status. It returns every violation found, or an error if the spec has no
// such response.
func (s *Spec) CheckResponse(method, path string, status int, body []byte) ([]string, error) {
	op, ok := dig(s.doc, "paths", path, strings.ToLower(method)).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: no operation %s %s", method, path)
	}
	resp, ok := dig(op, "responses", fmt.Sprint(status)).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: %s %s documents no %d response", method, path, status)
	}
	if r, ok := resp["$ref"].(string); ok {
		resp, _ = s.ref(r).(map[string]any)
	}
	schema, ok := dig(resp, "content", "application/json", "schema").(map[string]any)
	if !ok {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, nil
		}
		return []string{"body present where the spec documents none"}, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return []string{"body is not JSON: " + err.Error()}, nil
	}
	var errs []string
	s.validate(schema, v, "$", &errs, 0)
	return errs, nil
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (s *Spec) ref(r string) any {
	parts := strings.Split(strings.TrimPrefix(r, "#/"), "/")
	return dig(s.doc, parts...)
}

var patterns sync.Map

func (s *Spec) validate(schema map[string]any, v any, at string, errs *[]string, depth int) {
	if depth > 40 {
		return
	}
	if r, ok := schema["$ref"].(string); ok {
		if target, ok := s.ref(r).(map[string]any); ok {
			s.validate(target, v, at, errs, depth+1)
		}
		return
	}
	if v == nil {
		if schema["nullable"] == true || schema["type"] == nil && schema["allOf"] == nil && schema["properties"] == nil {
			return
		}
		*errs = append(*errs, at+": null where the schema is not nullable")
		return
	}
	for _, sub := range asList(schema["allOf"]) {
		s.validate(sub, v, at, errs, depth+1)
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		alts := asList(schema[key])
		if len(alts) == 0 {
			continue
		}
		var closest []string
		for i, alt := range alts {
			var e []string
			s.validate(alt, v, at, &e, depth+1)
			if len(e) == 0 {
				closest = nil
				break
			}
			if i == 0 || len(e) < len(closest) {
				closest = e
			}
		}
		if closest != nil {
			*errs = append(*errs, at+": matches none of "+key+"; closest: "+strings.Join(closest, "; "))
		}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		*errs = append(*errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch typ, _ := schema["type"].(string); typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			*errs = append(*errs, at+": not an object")
			return
		}
		for _, r := range asStrings(schema["required"]) {
			if _, ok := m[r]; !ok {
				*errs = append(*errs, at+": missing required "+r)
			}
		}
		props, _ := schema["properties"].(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				s.validate(ps, m[k], at+"."+k, errs, depth+1)
			} else if schema["additionalProperties"] == false {
				*errs = append(*errs, at+": unexpected property "+k)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			*errs = append(*errs, at+": not an array")
			return
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range a {
				s.validate(items, e, fmt.Sprintf("%s[%d]", at, i), errs, depth+1)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			*errs = append(*errs, at+": not a string")
			return
		}
		if n, ok := schema["maxLength"].(json.Number); ok {
			if max, _ := n.Int64(); int64(len([]rune(str))) > max {
				*errs = append(*errs, at+": longer than maxLength")
			}
		}
		if n, ok := schema["minLength"].(json.Number); ok {
			if min, _ := n.Int64(); int64(len([]rune(str))) < min {
				*errs = append(*errs, at+": shorter than minLength")
			}
		}
		if p, ok := schema["pattern"].(string); ok {
			re, _ := patterns.Load(p)
			if re == nil {
				c, err := regexp.Compile(p)
				if err != nil {
					return // a pattern Go cannot read is not the simulator's fault
				}
				patterns.Store(p, c)
				re = c
			}
			if !re.(*regexp.Regexp).MatchString(str) {
				*errs = append(*errs, fmt.Sprintf("%s: %q does not match %s", at, str, p))
			}
		}
	case "integer":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			*errs = append(*errs, at+": not an integer")
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			*errs = append(*errs, at+": not a number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			*errs = append(*errs, at+": not a boolean")
		}
	}
}

func asList(v any) []map[string]any {
	a, _ := v.([]any)
	out := make([]map[string]any, 0, len(a))
	for _, e := range a {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func asStrings(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
