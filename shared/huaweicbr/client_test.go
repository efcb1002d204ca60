package huaweicbr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr/cbrtest"
)

var fast = &http.Client{Transport: httpretry.NewTransport(nil, httpretry.Policy{MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}

// The seeds' example answers decode into the client's types field for field.
func TestSeedShapes(t *testing.T) {
	showPolicy := `{"policy":{"name":"policy001","associated_vaults":[],"enabled":true,"trigger":{"properties":{"pattern":["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=14;BYMINUTE=00"],"start_time":"2019-05-08 06:57:05"},"type":"time","id":"d67269a6-5369-42d7-8150-5254bd446328","name":"default"},"operation_definition":{"retention_duration_days":1,"year_backups":0,"day_backups":0,"month_backups":0,"week_backups":0,"timezone":"UTC+08:00"},"operation_type":"backup","id":"cbb3ce6f-3332-4e7c-b98e-77290d8471ff"}}`
	var p struct{ Policy huaweicbr.Policy }
	if err := json.Unmarshal([]byte(showPolicy), &p); err != nil {
		t.Fatal(err)
	}
	if p.Policy.ID != "cbb3ce6f-3332-4e7c-b98e-77290d8471ff" || !p.Policy.Enabled || *p.Policy.OperationDefinition.RetentionDurationDays != 1 ||
		p.Policy.Trigger.Properties.Pattern[0] != "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=14;BYMINUTE=00" || p.Policy.OperationDefinition.MaxBackups != nil {
		t.Fatalf("decoded %+v", p.Policy)
	}
	detail := `{"policies":[{"policy_id":"680032b4","domain_id":"0ab4","project_id":"ab99","status":"available","error_msg":null},{"policy_id":"556d","domain_id":"0ab4","project_id":"c5a1","status":"error","error_msg":"quota"}],"count":2,"limit":1000,"offset":0}`
	var d struct{ Policies []huaweicbr.MemberStatus }
	if err := json.Unmarshal([]byte(detail), &d); err != nil || d.Policies[0].ErrorMsg != nil || *d.Policies[1].ErrorMsg != "quota" {
		t.Fatalf("decoded %+v %v", d, err)
	}
}

func TestClientAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	sim := cbrtest.NewServer(t, cbrtest.Config{Seed: 1})
	sim.Populate(1, 40, 250)
	bigID := sim.AddOrganizationPolicy(cbrtest.OrganizationPolicy{Name: "zz-big", OperationType: "backup"}, members(230))
	c := huaweicbr.New(sim.Credentials(), fast)

	pols, err := c.ListPolicies(ctx, "")
	if err != nil || len(pols) != 40 {
		t.Fatalf("ListPolicies: %d, %v", len(pols), err)
	}
	backups, _ := c.ListPolicies(ctx, "backup")
	if len(backups) != 32 {
		t.Fatalf("backup policies: %d, want 32", len(backups))
	}
	one, err := c.ShowPolicy(ctx, pols[3].ID)
	if err != nil || !reflect.DeepEqual(one, pols[3]) {
		t.Fatalf("ShowPolicy: %+v %v", one, err)
	}
	total := 0
	for _, op := range []string{"backup", "replication"} {
		orgs, err := c.ListOrganizationPolicies(ctx, op)
		if err != nil {
			t.Fatal(err)
		}
		total += len(orgs)
	}
	if total != 251 {
		t.Fatalf("organization policies across pages: %d, want 251", total)
	}
	members, err := c.OrganizationPolicyDetail(ctx, bigID)
	if err != nil || len(members) != 230 {
		t.Fatalf("detail across pages: %d, %v", len(members), err)
	}
	org, err := c.ShowOrganizationPolicy(ctx, bigID)
	if err != nil || org.Name != "zz-big" {
		t.Fatalf("ShowOrganizationPolicy: %+v %v", org, err)
	}
}

func members(n int) []cbrtest.MemberStatus {
	out := make([]cbrtest.MemberStatus, n)
	for i := range out {
		out[i] = cbrtest.MemberStatus{DomainID: fmt.Sprint("d", i), ProjectID: fmt.Sprint("p", i), Status: "available"}
	}
	return out
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	sim := cbrtest.NewServer(t, cbrtest.Config{AuthToken: "iam-token-value"})
	good := sim.Credentials()
	wrongSK, wrongProject, token, badToken := good, good, good, good
	wrongSK.SecretKey = "not-the-secret-key"
	wrongProject.ProjectID = "ffffffffffffffffffffffffffffffff"
	token.AccessKey, token.SecretKey, token.AuthToken = "", "", "iam-token-value"
	badToken.AccessKey, badToken.SecretKey, badToken.AuthToken = "", "", "stolen-or-expired"
	tests := []struct {
		name   string
		creds  huaweicbr.Credentials
		call   func(c *huaweicbr.Client) error
		status int
		code   string
	}{
		{"wrong secret key", wrongSK, func(c *huaweicbr.Client) error { _, err := c.ListPolicies(ctx, ""); return err }, 401, "APIG.0301"},
		{"wrong project", wrongProject, func(c *huaweicbr.Client) error { _, err := c.ListPolicies(ctx, ""); return err }, 403, "APIG.0302"},
		{"unknown policy", good, func(c *huaweicbr.Client) error { _, err := c.ShowPolicy(ctx, "nope"); return err }, 404, "BackupService.6201"},
		{"bad operation type", good, func(c *huaweicbr.Client) error { _, err := c.ListOrganizationPolicies(ctx, "archive"); return err }, 400, "BackupService.0001"},
		{"token accepted", token, func(c *huaweicbr.Client) error { _, err := c.ListPolicies(ctx, ""); return err }, 0, ""},
		{"bad token", badToken, func(c *huaweicbr.Client) error { _, err := c.ListPolicies(ctx, ""); return err }, 401, "APIG.0301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(huaweicbr.New(tt.creds, http.DefaultClient))
			if tt.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae *huaweicbr.APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.Code != tt.code || ae.RequestID == "" {
				t.Fatalf("err %v, want %d %s", err, tt.status, tt.code)
			}
			for _, secret := range []string{tt.creds.SecretKey, tt.creds.AuthToken, good.SecretKey} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Fatal("error leaks a secret")
				}
			}
		})
	}
	// 429 is decoded too (no retrying client here).
	sim.SetFaults(cbrtest.Faults{Rate429: 1})
	_, err := huaweicbr.New(good, http.DefaultClient).ListPolicies(ctx, "")
	var ae *huaweicbr.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.Code != "APIG.0308" {
		t.Fatalf("throttled: %v", err)
	}
}

// With 429s, 5xx and dropped connections the client returns what a fault-free run returns.
func TestFaultsGiveSameResults(t *testing.T) {
	ctx := context.Background()
	sim := cbrtest.NewServer(t, cbrtest.Config{Seed: 9})
	sim.Populate(2, 30, 60)
	c := huaweicbr.New(sim.Credentials(), fast)
	collect := func() string {
		pols, err := c.ListPolicies(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range pols {
			out = append(out, p.ID+p.Name)
		}
		for _, op := range []string{"backup", "replication"} {
			orgs, err := c.ListOrganizationPolicies(ctx, op)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range orgs {
				ms, err := c.OrganizationPolicyDetail(ctx, o.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					out = append(out, o.ID+m.DomainID+m.Status)
				}
			}
		}
		sort.Strings(out)
		return strings.Join(out, "\n")
	}
	clean := collect()
	sim.SetFaults(cbrtest.Faults{Rate429: 0.2, Rate5xx: 0.2, RateDrop: 0.1})
	before := len(sim.Requests())
	if faulty := collect(); faulty != clean {
		t.Fatal("results differ under faults")
	}
	injected := 0
	for _, r := range sim.Requests()[before:] {
		if r.Status != 200 {
			injected++
		}
	}
	if injected == 0 {
		t.Fatal("no fault injected")
	}
}

func TestParseCredentials(t *testing.T) {
	tests := []struct{ name, body, wantErr string }{
		{"ak/sk", `{"region":"ap-southeast-1","project_id":"p1","access_key":"AKXXXXX","secret_key":"SKVALUE"}`, ""},
		{"token", `{"region":"ap-southeast-1","project_id":"p1","auth_token":"TOKVALUE"}`, ""},
		{"endpoint only", `{"project_id":"p1","access_key":"AK","secret_key":"SKVALUE","endpoint":"https://cbr.example.com/"}`, ""},
		{"no project", `{"region":"r","access_key":"AK","secret_key":"SKVALUE"}`, `"project_id": missing`},
		{"no keys", `{"region":"r","project_id":"p"}`, `"access_key" and "secret_key"`},
		{"no region", `{"project_id":"p","access_key":"AK","secret_key":"SKVALUE"}`, `"region": missing`},
		{"http endpoint", `{"project_id":"p","access_key":"AK","secret_key":"SKVALUE","endpoint":"http://cbr.example.com"}`, `"endpoint"`},
		{"not json", `SKVALUE`, "invalid JSON"},
		{"wrong type", `{"project_id":1}`, `"project_id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := huaweicbr.ParseCredentials([]byte(tt.body))
			if tt.wantErr == "" {
				if err != nil || !strings.HasPrefix(c.Endpoint, "https://cbr.") {
					t.Fatalf("%+v %v", c, err)
				}
				var buf bytes.Buffer
				slog.New(slog.NewJSONHandler(&buf, nil)).Info("creds", "c", c)
				printed := buf.String() + fmt.Sprint(c) + fmt.Sprintf("%+v", c)
				if strings.Contains(printed, "SKVALUE") || strings.Contains(printed, "TOKVALUE") {
					t.Fatalf("a secret is printed: %s", printed)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "SKVALUE") {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte(`{"region":"r","project_id":"p","access_key":"AK","secret_key":"SKVALUE"}`))
	f.Add([]byte(`{"secret_key":"SKVALUE`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := huaweicbr.ParseCredentials(b)
		if err != nil && strings.Contains(err.Error(), "SKVALUE") {
			t.Fatalf("error leaks: %v", err)
		}
		if err == nil && (c.ProjectID == "" || c.Endpoint == "") {
			t.Fatalf("accepted incomplete credentials %q", b)
		}
	})
}
