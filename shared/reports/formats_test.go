package reports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

// json_v2_0 can be requested but the stored list's documented formats are
// json_v1, csv_v2_0, csv, html (API-NOTES: "Do not wait forever for a stored
// item whose format string equals the requested one: match what can be
// matched, and name what could not."). The run stores what was listed and
// names the format that never arrived, with one report and no pending wait.
func TestFormatNeverListed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // waiting for json_v2_0 ends in ErrPending
	defer cancel()
	e := setup(t, acronistest.ReportBehavior{ListDelay: 2 * time.Second, Generation: 5 * time.Second}, nil)
	res, err := e.job.Run(ctx, e.spec(t, `{"formats":["csv_v2_0","json_v2_0"]}`))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Status != "stored" || len(res.Objects) != 1 || res.Objects[0].Format != "csv_v2_0" || !slices.Equal(res.Missing, []string{"json_v2_0"}) {
		t.Fatalf("result %+v", res)
	}
	again, err := e.job.Run(ctx, e.spec(t, `{"formats":["csv_v2_0","json_v2_0"]}`))
	if err != nil || again.Status != "already_stored" || !slices.Equal(again.Missing, []string{"json_v2_0"}) || e.posts() != 1 {
		t.Fatalf("re-run: %+v %v, %d creates", again, err, e.posts())
	}
}

// The simulator's report answers validate against Acronis's OpenAPI
// document, json_v2_0 requested or not.
func TestSimulatorReportAnswersMatchSpec(t *testing.T) {
	e := setup(t, acronistest.ReportBehavior{}, nil)
	rep, err := e.job.Client.CreateReport(context.Background(), acronis.ReportPost{Recipients: []string{}, ResultAction: "save", Schedule: acronis.ReportSchedule{Type: "once"},
		Parameters: acronis.ReportParameters{TenantID: e.sim.RootTenantID(), Level: "accounts", Kind: "usage_current", Formats: acronis.ReportFormats}})
	if err != nil {
		t.Fatal(err)
	}
	id, secret := e.sim.AddAPIClient("")
	tok := acronistest.MintToken(t, e.sim, id, secret)
	for _, c := range []struct{ path string }{
		{"/api/2/reports/" + rep.ID},
		{"/api/2/reports/" + rep.ID + "/stored"},
	} {
		req, _ := http.NewRequest("GET", e.sim.URL()+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		problems, err := acronistest.CheckAnswer("GET", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s: %v %v\n%s", c.path, err, problems, body)
		}
	}
	items, _ := e.job.Client.StoredReports(context.Background(), rep.ID)
	if len(items) != len(acronis.StoredReportFormats) {
		t.Fatalf("stored items %+v, want one per documented format", items)
	}
}

// Each format is a valid document built from the simulated tree: CSV with a
// header and whole rows, a JSON document, an HTML table; every customer's
// name is in it, names with commas and quotes survive, and padding to a
// size ends on a whole row.
func TestReportContentFromTree(t *testing.T) {
	ctx := context.Background()
	e := setup(t, acronistest.ReportBehavior{Generation: time.Second, Size: 256 << 10}, nil)
	odd := e.sim.AddTenant(acronistest.TenantSpec{Name: `Müller, "Smith" & <Co>`, Kind: "customer"})
	res, err := e.job.Run(ctx, e.spec(t, `{"kind":"usage_current","level":"all_customers","formats":["csv","csv_v2_0","json_v1","html"]}`))
	if err != nil || len(res.Objects) != 4 {
		t.Fatalf("%+v %v", res, err)
	}
	names := customerNames(t, e)
	if !slices.Contains(names, `Müller, "Smith" & <Co>`) || len(names) < 9 {
		t.Fatalf("tree customers %v", names)
	}
	storage := e.sim.TenantUsage(odd)[0]["value"].(json.Number).String()
	for _, o := range res.Objects {
		body := e.content(t, o.Key)
		if len(body) < 256<<10 {
			t.Fatalf("%s: %d bytes, want the 256 KiB asked for", o.Format, len(body))
		}
		found := parseReport(t, o.Format, body)
		for _, n := range names {
			if !found[n] {
				t.Fatalf("%s: customer %q missing", o.Format, n)
			}
		}
		if o.Format != "html" && !found[`Müller, "Smith" & <Co>|`+storage] {
			t.Fatalf("%s: the odd customer's storage %s is not in it", o.Format, storage)
		}
	}
}

func customerNames(t *testing.T, e *env) []string {
	t.Helper()
	var names []string
	for page, err := range e.job.Client.ListTenants(context.Background(), acronis.TenantFilter{SubtreeRootID: e.sim.RootTenantID()}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range page {
			if tn.Kind == acronis.KindCustomer {
				names = append(names, tn.Name)
			}
		}
	}
	return names
}

// parseReport decodes a downloaded report strictly and returns the tenant
// names seen, and "name|value" for each usage row.
func parseReport(t *testing.T, format string, body []byte) map[string]bool {
	t.Helper()
	found := map[string]bool{}
	switch format {
	case "csv", "csv_v2_0":
		r := csv.NewReader(bytes.NewReader(body)) // FieldsPerRecord from the header: a cut row fails
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		hdr := recs[0]
		want := map[string]int{"csv": 6, "csv_v2_0": 11}[format]
		if len(hdr) != want || hdr[0] != "tenant_name" || !slices.Contains(hdr, "value") {
			t.Fatalf("%s header %v", format, hdr)
		}
		vi := slices.Index(hdr, "value")
		for _, rec := range recs[1:] {
			found[rec[0]], found[rec[0]+"|"+rec[vi]] = true, true
		}
	case "json_v1":
		var doc struct {
			Report map[string]any `json:"report"`
			Items  []struct {
				TenantName string `json:"tenant_name"`
				Value      string `json:"value"`
			} `json:"items"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&doc); err != nil || dec.More() {
			t.Fatalf("json_v1: %v", err)
		}
		for _, it := range doc.Items {
			found[it.TenantName], found[it.TenantName+"|"+it.Value] = true, true
		}
	case "html":
		s := string(body)
		if !strings.HasPrefix(s, "<!DOCTYPE html>") || !strings.HasSuffix(s, "</html>\n") {
			t.Fatalf("html: not a whole document")
		}
		for _, cell := range strings.Split(s, "<td>") {
			name, _, _ := strings.Cut(cell, "</td>")
			found[html.UnescapeString(name)] = true
		}
	}
	return found
}
