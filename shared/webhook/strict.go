package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxBody is the largest body the intake accepts: it travels to the worker
// as the SQS message body unchanged, and an SQS message (body plus
// attributes) is at most 256 KiB. 1 KiB is held back for the message
// attributes and the FIFO ids the intake adds.
const MaxBody = 256*1024 - 1024

// Roles is the userRole enum of Acronis's account-management document: the
// roles the platform accepts. There is no backup_admin.
var Roles = []string{"root_admin", "partner_admin", "company_admin", "unit_admin", "readonly_admin", "protection_admin",
	"protection_ro_admin", "restore_operator", "backup_user", "sync_share_admin", "sync_share_user", "sync_share_guest",
	"pds_operator", "pds_support", "notary_admin", "notary_user", "hci_admin", "omnivoice_admin", "omnivoice_user",
	"greathorn_admin", "greathorn_user", "greathorn_analyst", "greathorn_client_manager"}

// ValidRole reports whether role is in the document's userRole enum.
func ValidRole(role string) bool { return slices.Contains(Roles, role) }

// ValidLogin accepts the logins the platform accepts: 1-255 ASCII letters,
// digits and . _ @ + -. A look-alike such as the Kelvin sign in "\u212Aate"
// is not "kate" and is refused, never compared.
func ValidLogin(s string) bool { return loginRE.MatchString(s) }

// CleanText reports why free text cannot be used as a name ("" = fine):
// invalid UTF-8, control characters, and format characters, which include
// the bidi overrides (U+202E) and zero-width characters (U+200B, U+FEFF)
// that make two names look alike.
func CleanText(s string) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return "contains a control character"
		case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r):
			return "contains an invisible formatting, bidi or zero-width character"
		}
	}
	return ""
}

// fieldNames maps a JSON path ("", "customer", "customer.contact" ...) to the
// exact key names its object has, from the struct tags.
var fieldNames = func() map[string][]string {
	out := map[string][]string{}
	var walk func(path string, t reflect.Type)
	walk = func(path string, t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			out[path] = append(out[path], name)
			walk(strings.TrimPrefix(path+"."+name, "."), t.Field(i).Type)
		}
	}
	walk("", reflect.TypeFor[Event]())
	return out
}()

// checkKeys walks the document's tokens before it is decoded: encoding/json
// matches keys case-insensitively and lets a later duplicate win, so
// {"id":"a","ID":"b"} would be read as id "b". Every object's keys must be
// distinct even when case is ignored, and known objects' keys exact.
func checkKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkValue(dec, "")
}

func walkValue(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return &FieldError{"(body)", "not a JSON object"}
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, path)
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, path+"[]"); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return &FieldError{"(body)", "not a JSON object"}
		}
	}
	return nil
}

func walkObject(dec *json.Decoder, path string) error {
	seen := map[string]string{}
	known, strict := fieldNames[path]
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return &FieldError{"(body)", "not a JSON object"}
		}
		at := strings.TrimPrefix(path+"."+key, ".")
		if prev, dup := seen[strings.ToLower(key)]; dup {
			return &FieldError{at, "duplicate key (also given as " + prev + "); keys must differ beyond case"}
		}
		seen[strings.ToLower(key)] = key
		if strict && !slices.Contains(known, key) {
			return &FieldError{at, "unknown field (names are case-sensitive)"}
		}
		if err := walkValue(dec, at); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return &FieldError{"(body)", "not a JSON object"}
	}
	return nil
}

// checkText refuses names with invisible or control characters.
func checkText(e *Event) error {
	c := e.Customer
	fields := map[string]string{"customer.name": c.Name}
	if c.Contact != nil {
		fields["customer.contact.firstname"], fields["customer.contact.lastname"] = c.Contact.FirstName, c.Contact.LastName
		fields["customer.contact.phone"], fields["customer.contact.email"] = c.Contact.Phone, c.Contact.Email
	}
	if a := c.Admin; a != nil {
		fields["customer.admin.firstname"], fields["customer.admin.lastname"], fields["customer.admin.email"] = a.FirstName, a.LastName, a.Email
	}
	for name := range c.Quotas {
		fields["customer.quotas"] = fields["customer.quotas"] + name
	}
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		if reason := CleanText(fields[f]); reason != "" {
			return &FieldError{f, reason}
		}
	}
	return nil
}

// decodeStrict decodes after the key walk; type errors name the field.
func decodeStrict(body []byte, e *Event) error {
	if len(body) > MaxBody {
		return &FieldError{"(body)", "larger than the queue can carry"}
	}
	if !utf8.Valid(body) {
		return &FieldError{"(body)", "not valid UTF-8"}
	}
	if err := checkKeys(body); err != nil {
		return err
	}
	// checkKeys has refused every unknown key already, at every level.
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(e); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			want := te.Type.String()
			if te.Type.Kind() == reflect.Int64 {
				want = "an integer"
			}
			return &FieldError{badQuota(body, te.Field), "want " + want}
		}
		return &FieldError{"(body)", "not a JSON object"}
	}
	if dec.More() {
		return &FieldError{"(body)", "trailing data after the event"}
	}
	return nil
}

// badQuota names the quota whose value failed to decode: the decoder's
// error names the map ("customer.quotas"), not the key.
func badQuota(body []byte, field string) string {
	if field != "customer.quotas" {
		return field
	}
	var doc struct {
		Customer struct {
			Quotas map[string]json.RawMessage `json:"quotas"`
		} `json:"customer"`
	}
	_ = json.Unmarshal(body, &doc)
	names := make([]string, 0, len(doc.Customer.Quotas))
	for k := range doc.Customer.Quotas {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		var n *int64
		if json.Unmarshal(doc.Customer.Quotas[k], &n) != nil {
			return field + "." + k
		}
	}
	return field
}
