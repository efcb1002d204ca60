package webhook

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

var now = time.Unix(1_800_000_000, 0)

func TestVerify(t *testing.T) {
	key := []byte("whsec-test-key")
	body := []byte(`{"id":"e1"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := Sign(key, ts, body)
	tests := []struct {
		name, sig, ts string
		body          []byte
		key           []byte
		ok            bool
	}{
		{"valid", good, ts, body, key, true},
		{"4 min old", Sign(key, strconv.FormatInt(now.Unix()-240, 10), body), strconv.FormatInt(now.Unix()-240, 10), body, key, true},
		{"6 min old", Sign(key, strconv.FormatInt(now.Unix()-360, 10), body), strconv.FormatInt(now.Unix()-360, 10), body, key, false},
		{"6 min ahead", Sign(key, strconv.FormatInt(now.Unix()+360, 10), body), strconv.FormatInt(now.Unix()+360, 10), body, key, false},
		{"body changed", good, ts, []byte(`{"id":"e2"}`), key, false},
		{"timestamp changed", good, strconv.FormatInt(now.Unix()+1, 10), body, key, false},
		{"other key", good, ts, body, []byte("other"), false},
		{"no prefix", strings.TrimPrefix(good, "sha256="), ts, body, key, false},
		{"not hex", "sha256=zz", ts, body, key, false},
		{"no signature", "", ts, body, key, false},
		{"no timestamp", good, "", body, key, false},
		{"no key", good, ts, body, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.key, tt.sig, tt.ts, tt.body, now)
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name, body, wantField string
	}{
		{"created", `{"id":"evt-1","type":"customer.created","customer":{"crm_id":"CRM-1","name":"Acme","edition":"pck_per_gigabyte","contact":{"email":"it@acme.example"},"admin":{"login":"acme-admin","email":"admin@acme.example"}}}`, ""},
		{"suspended", `{"id":"evt-2","type":"customer.suspended","customer":{"crm_id":"CRM-1"}}`, ""},
		{"updated quotas", `{"id":"evt-3","type":"customer.updated","customer":{"crm_id":"CRM-1","quotas":{"pg_base_workstations":10}}}`, ""},
		{"no id", `{"type":"customer.suspended","customer":{"crm_id":"CRM-1"}}`, "id"},
		{"bad type", `{"id":"e","type":"customer.exploded","customer":{"crm_id":"CRM-1"}}`, "type"},
		{"no crm id", `{"id":"e","type":"customer.suspended","customer":{}}`, "customer.crm_id"},
		{"created without name", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","edition":"pck_per_gigabyte"}}`, "customer.name"},
		{"created without edition", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N"}}`, "customer.edition"},
		{"bad email", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N","edition":"pck_per_gigabyte","contact":{"email":"nope"}}}`, "customer.contact.email"},
		{"bad login", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N","edition":"pck_per_gigabyte","admin":{"login":"a b","email":"a@b.example"}}}`, "customer.admin.login"},
		{"bad role", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N","edition":"pck_per_gigabyte","admin":{"login":"ab","email":"a@b.example","role":"root"}}}`, "customer.admin.role"},
		{"wrong type", `{"id":"e","type":"customer.suspended","customer":{"crm_id":5}}`, "customer.crm_id"},
		{"unknown field", `{"id":"e","type":"customer.suspended","customer":{"crm_id":"C","colour":"red"}}`, "colour"},
		{"negative quota", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","quotas":{"x":-1}}}`, "customer.quotas"},
		{"update with nothing", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C"}}`, "customer"},
		{"not json", `hello`, "(body)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEvent([]byte(tt.body))
			if tt.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField || fe.Reason == "" {
				t.Fatalf("err %v, want field %q", err, tt.wantField)
			}
		})
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"id":"evt-1","type":"customer.created","customer":{"crm_id":"CRM-1","name":"Acme","edition":"pck_per_gigabyte"}}`))
	f.Add([]byte(`{"id":"e","type":"customer.updated","customer":{"crm_id":"C","quotas":{"x":1e309}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEvent(b)
		if err == nil && (e.ID == "" || e.Customer.CRMID == "" || e.Type == "") {
			t.Fatalf("accepted an event without id, type or crm id: %q", b)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("sha256=00", "1800000000", []byte("{}"))
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		key := []byte("k")
		if Verify(key, sig, ts, body, now) == nil && sig != Sign(key, ts, body) && !strings.EqualFold(sig, Sign(key, ts, body)) {
			t.Fatalf("forged signature %q accepted", sig)
		}
	})
}
