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
		{"unknown field", `{"id":"e","type":"customer.suspended","customer":{"crm_id":"C","colour":"red"}}`, "customer.colour"},
		{"negative quota", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","quotas":{"x":-1}}}`, "customer.quotas.x"},
		// The document types quota.value as an integer >= 0 or null.
		{"fractional quota", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","quotas":{"pg_base_workstations":2.5}}}`, "customer.quotas.pg_base_workstations"},
		{"quota in exponent form", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","quotas":{"pg_base_workstations":1e3}}}`, "customer.quotas.pg_base_workstations"},
		{"unlimited quota", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","quotas":{"pg_base_workstations":null}}}`, ""},
		// The userRole enum has no backup_admin.
		{"backup_admin is no role", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N","edition":"pck_per_gigabyte","admin":{"login":"ab","email":"a@b.example","role":"backup_admin"}}}`, "customer.admin.role"},
		{"backup_user is a role", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N","edition":"pck_per_gigabyte","admin":{"login":"ab","email":"a@b.example","role":"backup_user"}}}`, ""},
		{"duplicate key", `{"id":"e1","id":"e2","type":"customer.suspended","customer":{"crm_id":"C"}}`, "id"},
		{"case-variant key", `{"id":"e1","ID":"e2","type":"customer.suspended","customer":{"crm_id":"C"}}`, "ID"},
		{"case-variant key alone", `{"ID":"e1","type":"customer.suspended","customer":{"crm_id":"C"}}`, "ID"},
		{"nested case variant", `{"id":"e","type":"customer.suspended","customer":{"crm_id":"C","CRM_ID":"D"}}`, "customer.CRM_ID"},
		{"case-variant quota names", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","quotas":{"ws":1,"WS":2}}}`, "customer.quotas.WS"},
		{"control character in name", "{\"id\":\"e\",\"type\":\"customer.created\",\"customer\":{\"crm_id\":\"C\",\"name\":\"Acme\\u0007\",\"edition\":\"pck_per_gigabyte\"}}", "customer.name"},
		{"bidi override in name", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"Acme\u202egnp.exe","edition":"pck_per_gigabyte"}}`, "customer.name"},
		{"zero-width space in name", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"Ac\u200bme","edition":"pck_per_gigabyte"}}`, "customer.name"},
		{"zero-width joiner in admin name", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N","edition":"pck_per_gigabyte","admin":{"login":"ab","email":"a@b.example","lastname":"Do\u200de"}}}`, "customer.admin.lastname"},
		{"line separator in contact", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N","edition":"pck_per_gigabyte","contact":{"email":"a@b.example","firstname":"A\u2028B"}}}`, "customer.contact.firstname"},
		{"Kelvin sign login", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N","edition":"pck_per_gigabyte","admin":{"login":"\u212Aate","email":"a@b.example"}}}`, "customer.admin.login"},
		{"accented name is fine", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"Müller & Söhne","edition":"pck_per_gigabyte"}}`, ""},
		{"display-name e-mail", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"N","edition":"pck_per_gigabyte","contact":{"email":"Ida <ida@b.example>"}}}`, "customer.contact.email"},
		{"invalid UTF-8", "{\"id\":\"e\",\"type\":\"customer.created\",\"customer\":{\"crm_id\":\"C\",\"name\":\"\xff\",\"edition\":\"pck_per_gigabyte\"}}", "(body)"},
		{"too large for the queue", `{"id":"e","type":"customer.created","customer":{"crm_id":"C","name":"` + strings.Repeat("a", MaxBody) + `","edition":"pck_per_gigabyte"}}`, "(body)"},
		{"update with nothing", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C"}}`, "customer"},
		{"update of the language only", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","language":"fr"}}`, ""},
		{"language as the document writes it", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","language":"pt_BR"}}`, ""},
		{"language as BCP 47 writes it", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","language":"pt-BR"}}`, ""},
		{"language not a code", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","language":"Deutsch"}}`, "customer.language"},
		{"update to production pricing only", `{"id":"e","type":"customer.updated","customer":{"crm_id":"C","production_pricing":true}}`, ""},
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
