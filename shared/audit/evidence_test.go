package audit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/audit"
)

// Every failing Acronis resource says why, in the platform's words, and
// since when; bad answers (no alert for a failing resource, an agent without
// a last-seen time, an alert for a resource that is gone) are reported.
func TestWhyAndSinceWhen(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 6, 30, 0, 0)
	res, err := w.job.Run(ctx, audit.Request{})
	if err != nil {
		t.Fatal(err)
	}
	fs := w.findings(t, res)
	by := map[string]int{}
	for _, f := range fs {
		if f.Provider != audit.Acronis {
			continue
		}
		by[f.Rule+"/"+f.ReasonSource]++
		if f.Rule == audit.RuleStatus && f.Severity == audit.Critical {
			if f.Reason == "" || f.ReasonSource == "" || (f.ReasonSource != "none" && (f.ReasonID == "" || f.ReasonAt.IsZero())) {
				t.Fatalf("a failing resource without its reason: %+v", f)
			}
		}
		if f.TenantID == "" && f.TenantLegacyID == "" || f.FirstSeen.IsZero() {
			t.Fatalf("no tenant or no first sighting: %+v", f)
		}
	}
	for _, want := range []string{"policy_status/alert", "policy_status/task", "stale_backup/alert", "alert_without_resource/alert", "agent_offline/"} {
		if by[want] == 0 {
			t.Errorf("no %s finding: %v", want, by)
		}
	}
	sev := map[string]bool{}
	for _, f := range fs {
		if f.Rule == audit.RuleAgentOffline {
			sev[f.Severity] = true
		}
	}
	if !sev[audit.Warning] || !sev[audit.Unknown] {
		t.Errorf("offline agents: severities %v, want warning (last seen long ago) and unknown (no last-seen time)", sev)
	}
	st := w.summary(t, res).Providers[audit.Acronis]
	if st.Alerts == 0 || st.Tasks == 0 || st.Agents != 6*30 || len(st.OldestSuccess)+len(st.NeverSucceeded) == 0 || len(st.Problems) != 0 {
		t.Fatalf("stats %+v", st)
	}
	// First seen is carried from run to run.
	later := now.Add(time.Hour)
	w.job.Now = func() time.Time { return later }
	res2, err := w.job.Run(ctx, audit.Request{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range w.findings(t, res2) {
		if !f.New && !f.FirstSeen.Equal(now) {
			t.Fatalf("first seen not carried: %+v", f)
		}
	}
}

func TestStaleBackupRule(t *testing.T) {
	w := newWorld(t, 3, 20, 0, 0)
	for _, tt := range []struct {
		hours float64
		want  string
	}{{1000, ""}, {1, "critical"}} {
		w.job.Rules.MaxHoursWithoutSuccess = tt.hours
		res, err := w.job.Run(context.Background(), audit.Request{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, f := range w.findings(t, res) {
			if f.Rule == audit.RuleStaleBackup {
				got[f.Severity]++
				if f.LastSuccess.IsZero() != strings.Contains(f.Message, "no successful backup") {
					t.Fatalf("message and last success disagree: %+v", f)
				}
			}
		}
		if tt.want == "" && got[audit.Warning]+got[audit.Critical] != got[audit.Critical] {
			t.Fatalf("threshold %v h: %v", tt.hours, got)
		}
		if tt.want != "" && got[tt.want] == 0 {
			t.Fatalf("threshold %v h: %v", tt.hours, got)
		}
	}
}

// An endpoint that refuses is a noted problem: the run is not partial and
// the failing resources say their reason is unknown.
func TestEvidenceEndpointDown(t *testing.T) {
	w := newWorld(t, 3, 20, 0, 0)
	target, _ := url.Parse(w.sim.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, acronis.AlertsPath) {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusBadRequest)
			_, _ = rw.Write([]byte(`{"domain":"AlertManager","code":"BadRequest"}`))
			return
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(front.Close)
	client, err := acronis.NewClient(front.URL, w.tokens, acronis.NewHTTPClient(acronis.HTTPOptions{Retry: retry}))
	if err != nil {
		t.Fatal(err)
	}
	w.job.Acronis = &audit.AcronisSource{Client: client}
	res, err := w.job.Run(context.Background(), audit.Request{})
	if err != nil || res.Partial {
		t.Fatalf("%v %+v", err, res)
	}
	st := w.summary(t, res).Providers[audit.Acronis]
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "alerts") {
		t.Fatalf("problems %v", st.Problems)
	}
	for _, f := range w.findings(t, res) {
		if f.ReasonSource == "alert" {
			t.Fatalf("an alert reason with alerts down: %+v", f)
		}
	}
}
