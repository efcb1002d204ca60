// Package webhook verifies and parses the CRM's provisioning webhooks:
// X-Signature "sha256=<hex HMAC-SHA256 of '<X-Timestamp>.<raw body>'>",
// X-Timestamp in unix seconds, at most five minutes off.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrUnauthorized is every signature problem. Callers answer 401 with no
// detail; the wrapped reason is for the logs only.
var ErrUnauthorized = errors.New("unauthorized")

// MaxSkew is how far X-Timestamp may be from the receiver's clock.
const MaxSkew = 5 * time.Minute

// Sign computes the X-Signature value for a body at a timestamp (the CRM's
// side, and the tests').
func Sign(key []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks the signature in constant time and the timestamp's age.
func Verify(key []byte, signature, timestamp string, body []byte, now time.Time) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: no signing key configured", ErrUnauthorized)
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-Timestamp missing or not unix seconds", ErrUnauthorized)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > MaxSkew || d < -MaxSkew {
		return fmt.Errorf("%w: X-Timestamp %v off", ErrUnauthorized, d.Round(time.Second))
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: X-Signature missing or malformed", ErrUnauthorized)
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(key, timestamp, body), "sha256="))
	if !hmac.Equal(got, want) {
		return fmt.Errorf("%w: signature mismatch", ErrUnauthorized)
	}
	return nil
}

// Event types.
const (
	CustomerCreated     = "customer.created"
	CustomerUpdated     = "customer.updated"
	CustomerSuspended   = "customer.suspended"
	CustomerReactivated = "customer.reactivated"
	CustomerDeleted     = "customer.deleted"
	CustomerSyncUsers   = "customer.sync_users" // the PSA user sync on its own (CLI)
)

// Event is one CRM event.
type Event struct {
	ID       string   `json:"id"`
	Type     string   `json:"type"`
	Customer Customer `json:"customer"`
}

// Customer is what the CRM says about the customer.
type Customer struct {
	CRMID      string            `json:"crm_id"`
	Name       string            `json:"name,omitempty"`
	Kind       string            `json:"kind,omitempty"` // customer (default) or partner
	Language   string            `json:"language,omitempty"`
	Contact    *Contact          `json:"contact,omitempty"`
	Edition    string            `json:"edition,omitempty"`
	Production bool              `json:"production_pricing,omitempty"`
	Admin      *Admin            `json:"admin,omitempty"`
	Quotas     map[string]*int64 `json:"quotas,omitempty"` // offering item name -> quota (null: unlimited)
	SyncUsers  bool              `json:"sync_psa_users,omitempty"`
}

// Contact is the customer's contact.
type Contact struct {
	Email     string `json:"email"`
	FirstName string `json:"firstname,omitempty"`
	LastName  string `json:"lastname,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// Admin is the customer's first administrator.
type Admin struct {
	Login     string `json:"login"`
	Email     string `json:"email"`
	FirstName string `json:"firstname,omitempty"`
	LastName  string `json:"lastname,omitempty"`
	Role      string `json:"role,omitempty"` // default company_admin
}

// FieldError names the field and the reason (a 400 answer).
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Reason) }

var (
	idRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	loginRE = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,255}$`)
	// The account-management document's example is "pt_BR"; "pt-BR" (BCP 47)
	// is tolerated too.
	langRE    = regexp.MustCompile(`^[a-z]{2}([-_][A-Z]{2})?$`)
	editionRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)
)

// ParseEvent decodes an event strictly and checks what its type needs.
func ParseEvent(body []byte) (Event, error) {
	var e Event
	if err := decodeStrict(body, &e); err != nil {
		return Event{}, err
	}
	if err := checkText(&e); err != nil {
		return Event{}, err
	}
	if !idRE.MatchString(e.ID) {
		return Event{}, &FieldError{"id", "required: 1-128 letters, digits, . _ : -"}
	}
	if err := checkCustomer(&e.Customer); err != nil {
		return Event{}, err
	}
	if err := checkType(e.Type, &e.Customer); err != nil {
		return Event{}, err
	}
	return e, nil
}

// checkCustomer checks the fields of a customer whatever the event type.
func checkCustomer(c *Customer) error {
	switch {
	case !idRE.MatchString(c.CRMID):
		return &FieldError{"customer.crm_id", "required: 1-128 letters, digits, . _ : -"}
	case c.Kind != "" && c.Kind != "customer" && c.Kind != "partner":
		return &FieldError{"customer.kind", "customer or partner"}
	case c.Language != "" && !langRE.MatchString(c.Language):
		return &FieldError{"customer.language", "a language code like en or de-DE"}
	case utf8.RuneCountInString(c.Name) > 255:
		return &FieldError{"customer.name", "at most 255 characters"}
	case c.Edition != "" && !editionRE.MatchString(c.Edition):
		return &FieldError{"customer.edition", "an edition name like pck_per_gigabyte"}
	case c.Contact != nil && !validEmail(c.Contact.Email):
		return &FieldError{"customer.contact.email", "not an e-mail address"}
	}
	if a := c.Admin; a != nil {
		switch {
		case !loginRE.MatchString(a.Login):
			return &FieldError{"customer.admin.login", "1-255 letters, digits, . _ @ + -"}
		case !validEmail(a.Email):
			return &FieldError{"customer.admin.email", "not an e-mail address"}
		case a.Role != "" && !ValidRole(a.Role):
			return &FieldError{"customer.admin.role", "not a role of the platform's userRole list (" + strings.Join(Roles, ", ") + ")"}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Quotas)) {
		if q := c.Quotas[name]; name == "" || len(name) > 255 || q != nil && *q < 0 {
			// The document types quota.value as "integer, minimum 0" or null.
			return &FieldError{"customer.quotas." + name, "an offering item name with an integer quota >= 0 or null"}
		}
	}
	return nil
}

// checkType checks the event type and what it requires of the customer.
func checkType(t string, c *Customer) error {
	switch t {
	case CustomerCreated:
		switch {
		case strings.TrimSpace(c.Name) == "":
			return &FieldError{"customer.name", "required for customer.created"}
		case c.Edition == "":
			return &FieldError{"customer.edition", "required for customer.created"}
		}
	case CustomerUpdated:
		if c.Name == "" && c.Contact == nil && c.Language == "" && c.Edition == "" && len(c.Quotas) == 0 && !c.Production && !c.SyncUsers && c.Admin == nil {
			return &FieldError{"customer", "customer.updated changes nothing"}
		}
	case CustomerSuspended, CustomerReactivated, CustomerDeleted, CustomerSyncUsers:
	default:
		return &FieldError{"type", "one of customer.created, customer.updated, customer.suspended, customer.reactivated, customer.deleted, customer.sync_users"}
	}
	return nil
}

// ValidEmail accepts a bare address (no display name) without invisible
// characters.
func ValidEmail(s string) bool { return validEmail(s) && CleanText(s) == "" }

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}
