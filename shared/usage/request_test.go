package usage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/usage"
)

func TestParseRequest(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in, wantErr string
		want              usage.Request
	}{
		{"empty payload", ``, "", usage.Request{}},
		{"null", `null`, "", usage.Request{}},
		{"schedule", `{}`, "", usage.Request{}},
		{"by hand", `{"date":"2026-11-22","root_tenant_id":"3f2b6c1e-8d4a-4c2f-9b1e-5a7d9c0e1f23"}`, "", usage.Request{Date: "2026-11-22", RootTenantID: "3f2b6c1e-8d4a-4c2f-9b1e-5a7d9c0e1f23"}},
		{"yesterday", `{"date":"yesterday"}`, "", usage.Request{Date: "2026-11-22"}},
		{"today", `{"date":"today"}`, "", usage.Request{Date: "2026-11-23"}},
		{"other word", `{"date":"tomorrow"}`, `field "date": "tomorrow" is not a date`, usage.Request{}},
		{"tomorrow (time zones)", `{"date":"2026-11-24"}`, "", usage.Request{Date: "2026-11-24"}},
		{"bad date", `{"date":"22/11/2026"}`, `field "date": "22/11/2026" is not a date`, usage.Request{}},
		{"impossible date", `{"date":"2026-02-30"}`, `field "date"`, usage.Request{}},
		{"future", `{"date":"2026-12-01"}`, `field "date": 2026-12-01 is in the future`, usage.Request{}},
		{"too old", `{"date":"2026-10-01"}`, `field "date": 2026-10-01 is more than 7 days ago`, usage.Request{}},
		{"date not a string", `{"date":20261122}`, `field "date": want a string`, usage.Request{}},
		{"root not a uuid", `{"root_tenant_id":"1234"}`, `field "root_tenant_id": "1234" is not a UUID`, usage.Request{}},
		{"root upper case", `{"root_tenant_id":"3F2B6C1E-8D4A-4C2F-9B1E-5A7D9C0E1F23"}`, `field "root_tenant_id"`, usage.Request{}},
		{"unknown field", `{"tenant":"x"}`, `unknown field "tenant"`, usage.Request{}},
		{"array", `[]`, "not a JSON object", usage.Request{}},
		{"trailing", `{} {}`, "trailing data", usage.Request{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := usage.ParseRequest([]byte(tt.in))
			if err == nil {
				r = r.Resolve(now)
				err = r.Validate(now)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || r != tt.want {
				t.Fatalf("got %+v %v, want %+v", r, err, tt.want)
			}
		})
	}
}

// The sample events parse and pass today, and on a day a year from now: a
// sample event must not go stale by the calendar.
func TestSampleEvents(t *testing.T) {
	files, _ := filepath.Glob("../../events/usage-snapshot*.json")
	if len(files) < 2 {
		t.Fatalf("sample events: %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := usage.ParseRequest(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, now := range []time.Time{time.Now(), time.Now().AddDate(1, 0, 0)} {
			if err := r.Resolve(now).Validate(now); err != nil {
				t.Fatalf("%s at %s: %v", f, now.Format(time.DateOnly), err)
			}
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"date":"2026-11-22","root_tenant_id":"3f2b6c1e-8d4a-4c2f-9b1e-5a7d9c0e1f23"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"date":null,"x":1}`))
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := usage.ParseRequest(b)
		if err != nil {
			return
		}
		if r = r.Resolve(now); r.Validate(now) == nil {
			// Whatever passes is a real date in range and a UUID.
			if r.Date != "" {
				d, err := time.Parse(time.DateOnly, r.Date)
				if err != nil || d.After(now.Add(48*time.Hour)) || d.Before(now.Add(-8*24*time.Hour)) {
					t.Fatalf("accepted date %q", r.Date)
				}
			}
			if r.RootTenantID != "" && len(r.RootTenantID) != 36 {
				t.Fatalf("accepted root %q", r.RootTenantID)
			}
		}
	})
}
