package acronis

import (
	"testing"
)

func TestParseError(t *testing.T) {
	tests := []struct {
		name                    string
		status                  int
		body                    string
		code, msg, info, domain string
	}{
		{"account envelope, numeric code", 409, `{"error":{"code":1001,"message":"Version mismatch","domain":"AccountServer","details":{"info":"current version is 3"}}}`, "1001", "Version mismatch", "current version is 3", "AccountServer"},
		{"account envelope, string code, null info", 404, `{"error":{"code":"NotFound","message":"Tenant not found","domain":null,"details":{"info":null}}}`, "NotFound", "Tenant not found", "", ""},
		{"oauth", 401, `{"error":"access_denied","error_description":"invalid client credentials"}`, "access_denied", "invalid client credentials", "invalid client credentials", ""},
		{"policy v4 flat", 403, `{"code":"AccessDenied","domain":"PolicyManagement","message":"scope"}`, "AccessDenied", "scope", "", "PolicyManagement"},
		{"task manager domainError", 400, `{"domain":"TaskManager","code":"BadRequest","debug":{"msg":"bad filter"}}`, "BadRequest", "bad filter", "", "TaskManager"},
		{"agent manager REST error", 400, `{"code":"BAD_REQUEST","domain":"AGENT_MANAGER","debug":{"msg":"os_family"}}`, "BAD_REQUEST", "os_family", "", "AGENT_MANAGER"},
		{"alert manager Error", 400, `{"domain":"AlertManager","code":"BadRequest","context":{"message":"tenant"}}`, "BadRequest", "tenant", "", "AlertManager"},
		{"free-form context of another shape keeps the code", 404, `{"domain":"TaskManager","code":"NotFound","context":{"message":{"text":"x"}},"debug":"plain"}`, "NotFound", "", "", "TaskManager"},
		{"html from a proxy", 502, `<html>Bad Gateway</html>`, "", "<html>Bad Gateway</html>", "", ""},
		{"empty", 503, ``, "", "", "", ""},
		{"json without error", 500, `{"foo":1}`, "", `{"foo":1}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ParseError(tt.status, []byte(tt.body))
			if e.Status != tt.status || e.Code != tt.code || e.Message != tt.msg || e.Info != tt.info || e.Domain != tt.domain {
				t.Fatalf("got %+v", e)
			}
			if e.Error() == "" {
				t.Fatal("empty Error()")
			}
		})
	}
}

func FuzzParseError(f *testing.F) {
	for _, s := range []string{`{"error":{"code":1001}}`, `{"error":"x"}`, `{"code":1.5}`, `[]`, `{"error":[1]}`, `null`} {
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := ParseError(status, body)
		if e == nil || e.Status != status {
			t.Fatalf("ParseError lost the status: %+v", e)
		}
		_ = e.Error()
	})
}
