package acronistest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// handRules is a hand-written rule set for what no Acronis document
// describes: the PSA /Customer and /Person endpoints (the advanced-automation
// document has neither; the seed and API-NOTES are their only source) and
// the seed's shape of the policy-status answer, which the v4 document
// contradicts. Each set is named, so a violation says which rules it broke.
type handRules struct {
	name      string
	query     map[string]func(string) error // every allowed query parameter
	required  []string                      // query parameters that must be present
	emptyBody bool                          // the request carries its filters in the query string
	answers   map[int]string                // JSON Schema (OpenAPI 3.0 dialect) per status
}

// psaError is what the simulator answers on PSA errors; the seed documents
// no error body, so the rule asks only for a JSON object.
const psaError = `{"type":"object"}`

// accountError is the account-server envelope the simulator's authentication
// answers with on every path.
const accountError = `{"type":"object","required":["error"],"properties":{"error":{"type":"object","required":["code","message"]}}}`

var psaPaging = map[string]func(string) error{"Page": positiveInt, "PageSize": positiveInt}

// psaCustomerRules: API-NOTES "POST /Customer?Page=&PageSize=&Active= ->
// {"Customers":[{Id, Name, ExternalTenantUUID, ...}], "AmountRecordsFound", "AmountOfPages"}".
var psaCustomerRules = &handRules{
	name:      "hand rules: PSA /Customer (API-NOTES)",
	query:     withParams(psaPaging, map[string]func(string) error{"Active": boolean}),
	required:  []string{"Page", "PageSize"},
	emptyBody: true,
	answers: map[int]string{
		200: `{"type":"object","required":["Customers","AmountRecordsFound","AmountOfPages"],"properties":{
			"Customers":{"type":"array","items":{"type":"object","required":["Id","Name"],"properties":{
				"Id":{"type":"string"},"Name":{"type":"string"},"ExternalTenantUUID":{"type":"string","nullable":true}}}},
			"AmountRecordsFound":{"type":"integer","minimum":0},"AmountOfPages":{"type":"integer","minimum":0}}}`,
		400: psaError, 401: accountError,
	},
}

// psaPersonRules: seed 002 and API-NOTES "POST /Person?Page=&PageSize=&Customer=<PSA customer id>
// (query string, empty body) -> {"Clients":[...], "Paging":{"AmountRecordsFound","AmountOfPages"}}".
var psaPersonRules = &handRules{
	name:      "hand rules: PSA /Person (seed 002, API-NOTES)",
	query:     withParams(psaPaging, map[string]func(string) error{"Customer": nonEmpty}),
	required:  []string{"Page", "PageSize", "Customer"},
	emptyBody: true,
	answers: map[int]string{
		200: `{"type":"object","required":["Clients","Paging"],"properties":{
			"Clients":{"type":"array","items":{"type":"object","required":["Id","Customer"],"properties":{
				"Id":{"type":"string"},"Customer":{"type":"string"},"Email":{"type":"string","nullable":true},
				"Enabled":{"type":"boolean"},"Deleted":{"type":"boolean"}}}},
			"Paging":{"type":"object","required":["AmountRecordsFound","AmountOfPages"],"properties":{
				"AmountRecordsFound":{"type":"integer","minimum":0},"AmountOfPages":{"type":"integer","minimum":0}}}}}`,
		400: psaError, 401: accountError, 404: psaError,
	},
}

// policyStatusSeedAnswer is the seed 000 answer: items of
// {context{agent_id, agent_name, id, name, tenant_id, tenant_name, type, user_defined_name},
// policies[{names, next_run_time, running{state}, status, type}]}, 'paging': {'cursors': {'total': 1}}.
// Only the 200 answer differs from the v4 document; errors are the document's.
const policyStatusSeedAnswer = `{"type":"object","required":["items","paging"],"properties":{
	"items":{"type":"array","items":{"type":"object","required":["context","policies"],"properties":{
		"context":{"type":"object","required":["id","tenant_id","type"],"properties":{
			"agent_id":{"type":"string"},"agent_name":{"type":"string"},"id":{"type":"string"},"name":{"type":"string"},
			"tenant_id":{"type":"string","pattern":"^\\d+$"},"tenant_name":{"type":"string"},"type":{"type":"string"},
			"user_defined_name":{"type":"string"}}},
		"policies":{"type":"array","items":{"type":"object","required":["names","running","status","type"],"properties":{
			"id":{"type":"string"},"names":{"type":"array","items":{"type":"string"}},"next_run_time":{"type":"string"},
			"running":{"type":"object","required":["state"],"properties":{"state":{"type":"string"}}},
			"status":{"type":"string"},"type":{"type":"string"}}}}}}},
	"paging":{"type":"object","required":["cursors"],"properties":{"cursors":{"type":"object","properties":{
		"after":{"type":"string"},"total":{"type":"integer"}}}}},
	"timestamp":{"type":"string"}}}`

// seedRules names the seed answer check.
const seedRules = "hand rules: policy statuses in the seed 000 shape"

// handRulesFor returns the rule set that replaces the documents for a path.
func handRulesFor(method, path string) *handRules {
	if method != http.MethodPost {
		return nil
	}
	switch path {
	case "/api/advanced-automation/v1/Customer":
		return psaCustomerRules
	case "/api/advanced-automation/v1/Person":
		return psaPersonRules
	}
	return nil
}

func withParams(a, b map[string]func(string) error) map[string]func(string) error {
	out := map[string]func(string) error{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func positiveInt(v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 1 {
		return errors.New("not an integer >= 1")
	}
	return nil
}

func boolean(v string) error {
	if v != "true" && v != "false" {
		return errors.New("not true or false")
	}
	return nil
}

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	return nil
}

func (h *handRules) checkRequest(r *http.Request, body []byte) []Violation {
	var out []Violation
	add := func(field, reason string) {
		out = append(out, Violation{Side: "request", Op: r.Method + " " + r.URL.Path, Field: field, Reason: reason, Rules: h.name})
	}
	q := r.URL.Query()
	for _, k := range sortedKeys(q) {
		check, ok := h.query[k]
		if !ok {
			add(k, "undocumented query parameter")
		} else if err := check(q.Get(k)); err != nil {
			add(k, err.Error())
		}
	}
	for _, k := range h.required {
		if !q.Has(k) {
			add(k, "required query parameter is missing")
		}
	}
	if h.emptyBody && len(bytes.TrimSpace(body)) > 0 {
		add("body", "the filters go in the query string; the body must be empty")
	}
	return out
}

func (h *handRules) checkAnswer(op string, status int, header http.Header, body []byte) []Violation {
	schema, ok := h.answers[status]
	if !ok {
		return []Violation{{Side: "answer", Op: op, Field: "status", Reason: fmt.Sprintf("%d is not an answer these rules know", status), Rules: h.name}}
	}
	return checkSchemaJSON(h.name, op, schema, header, body)
}

var handSchemas sync.Map // JSON text -> *openapi3.Schema

// checkSchemaJSON validates a JSON answer against a hand-written schema.
func checkSchemaJSON(rules, op, schemaText string, header http.Header, body []byte) []Violation {
	add := func(field, reason string) []Violation {
		return []Violation{{Side: "answer", Op: op, Field: field, Reason: reason, Rules: rules}}
	}
	if !isJSON(header.Get("Content-Type")) {
		return add("Content-Type", fmt.Sprintf("%q is not JSON", header.Get("Content-Type")))
	}
	sc, err := handSchema(schemaText)
	if err != nil {
		return add("", err.Error())
	}
	return checkSchemaValue(rules, op, sc, header, body)
}

// checkSchemaValue validates a JSON answer against a schema.
func checkSchemaValue(rules, op string, sc *openapi3.Schema, header http.Header, body []byte) []Violation {
	add := func(field, reason string) []Violation {
		return []Violation{{Side: "answer", Op: op, Field: field, Reason: reason, Rules: rules}}
	}
	if !isJSON(header.Get("Content-Type")) {
		return add("Content-Type", fmt.Sprintf("%q is not JSON", header.Get("Content-Type")))
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return add("body", "not JSON: "+err.Error())
	}
	v = plainNumbers(v)
	if err := sc.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		var out []Violation
		for _, f := range flatten(err) {
			out = append(out, add(f.field, f.reason)...)
		}
		return out
	}
	return nil
}

func handSchema(text string) (*openapi3.Schema, error) {
	if s, ok := handSchemas.Load(text); ok {
		return s.(*openapi3.Schema), nil
	}
	var s openapi3.Schema
	if err := json.Unmarshal([]byte(strings.TrimSpace(text)), &s); err != nil {
		return nil, fmt.Errorf("hand rules: bad schema: %w", err)
	}
	handSchemas.Store(text, &s)
	return &s, nil
}

// plainNumbers turns json.Numbers into float64 (what VisitJSON reads),
// keeping integers exact where they fit.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plainNumbers(e)
		}
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return v
}
