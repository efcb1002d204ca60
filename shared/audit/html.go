package audit

import (
	"cmp"
	"fmt"
	"html"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

type group struct {
	Customer string
	Worst    string
	Counts   map[string]int
	Findings []Finding
}

// groups orders customers worst first: by their worst severity, then by
// how many findings of it they have, then by name.
func groups(fs []Finding) []group {
	idx := map[string]int{}
	var out []group
	for _, f := range fs {
		c := cmp.Or(f.Customer, "(unknown customer)")
		i, ok := idx[c]
		if !ok {
			i = len(out)
			idx[c] = i
			out = append(out, group{Customer: c, Worst: f.Severity, Counts: map[string]int{}})
		}
		g := &out[i]
		g.Findings = append(g.Findings, f)
		g.Counts[f.Severity]++
		if SeverityRank(f.Severity) < SeverityRank(g.Worst) {
			g.Worst = f.Severity
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if SeverityRank(x.Worst) != SeverityRank(y.Worst) {
			return SeverityRank(x.Worst) < SeverityRank(y.Worst)
		}
		if x.Counts[x.Worst] != y.Counts[y.Worst] {
			return x.Counts[x.Worst] > y.Counts[y.Worst]
		}
		return x.Customer < y.Customer
	})
	return out
}

// The report is written by hand rather than with html/template: the
// template package's reflection makes the linker keep every method of every
// AWS SDK type, which added 7 MiB to the function's binary. Every value from
// outside goes through esc.
func renderHTML(w io.Writer, s Summary, fs []Finding) error {
	// Written straight to w (a buffer the caller uploads): the first write
	// error is kept and returned.
	var err error
	p := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	p(reportHead, esc(s.Date), esc(s.RunID))
	reportHeader(p, s)
	reportBar(p)
	gs := groups(fs)
	p("<table id=\"findings\">\n<thead><tr><th>severity</th><th>resource</th><th>policy</th><th>finding</th><th>why (the platform's words)</th><th>last good backup</th><th>failing since</th></tr></thead>\n")
	oldest := s.Providers[Acronis].OldestSuccess
	for _, g := range gs {
		reportGroup(p, g, oldest)
	}
	p("</table>\n")
	if len(gs) == 0 {
		p(`<p id="none">No findings.</p>` + "\n")
	}
	p("%s", reportScript)
	return err
}

const reportHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backup policy audit %s (%s)</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em} .meta{color:#555;margin-bottom:.6em}
.partial,.problems{background:#fde2e2;border:1px solid #e99;padding:.6em;margin:.6em 0}
.cover td,.cover th{padding:.1em .8em .1em 0;border:0}
.bar{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}
.bar label{margin-right:1em} #q{width:18em}
table#findings{border-collapse:collapse;width:100%%;table-layout:fixed}
#findings td,#findings th{border-bottom:1px solid #eee;padding:.25em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
#findings th:nth-child(1){width:6.5em} #findings th:nth-child(6),#findings th:nth-child(7){width:9em}
tr.ghead th{background:#f4f4f4;font-size:1.05em;padding-top:.6em}
.sev{font-weight:600;text-transform:uppercase;font-size:.8em}
.critical .sev{color:#b00} .warning .sev{color:#a60} .unknown .sev{color:#55a}
.new{background:#ffd;font-size:.75em;padding:0 .3em;border:1px solid #cc8}
small,.ids{color:#666;font-size:.8em} .gcounts span,#counts span{margin-right:.8em;font-weight:normal}
</style>
</head><body>
<h1>Backup policy audit</h1>
`

// reportHeader says when, what was covered, and what could not be read.
func reportHeader(p func(string, ...any), s Summary) {
	p(`<div class="meta">Run %s, %s. `, esc(s.RunID), esc(s.StartedAt.Format("2006-01-02 15:04 MST")))
	switch {
	case s.BaselineError != "":
		p("New since the last run: unknown, the baseline could not be read (%s).\n", esc(s.BaselineError))
	case s.PreviousRun != "":
		p("%d new since run %s.\n", s.New, esc(s.PreviousRun))
	default:
		p("%d new (first run: no earlier one to compare with).\n", s.New)
	}
	p("</div>\n<table class=\"cover\"><tr><th>provider</th><th>status</th><th>covered</th></tr>\n")
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(s.Providers)) {
		st := s.Providers[k]
		p("<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n", esc(k), esc(st.Status), esc(coverage(k, st)))
		for _, pr := range st.Problems {
			problems = append(problems, k+": "+pr)
		}
	}
	p("</table>\n")
	if s.Partial {
		p(`<div class="partial" id="partial">PARTIAL RUN: provider(s) %s failed. The findings below come from the others only.</div>`+"\n", esc(strings.Join(s.FailedProviders, ", ")))
	}
	if len(problems) > 0 {
		p(`<div class="problems" id="problems">Answers the audit could not use: %s</div>`+"\n", esc(strings.Join(problems, "; ")))
	}
}

func coverage(provider string, st Stats) string {
	if provider == HuaweiCBR {
		return fmt.Sprintf("%d policies, %d organization policies, %d member deliveries", st.Policies, st.OrgPolicies, st.Members)
	}
	return fmt.Sprintf("%d tenants, %d resources, %d policies, %d alerts, %d tasks, %d agents", st.Tenants, st.Resources, st.Policies, st.Alerts, st.Tasks, st.Agents)
}

func reportBar(p func(string, ...any)) {
	p(`<div class="bar">
 Severity: `)
	for _, sev := range []string{Critical, Warning, Unknown, Info} {
		p(`<label><input type="checkbox" class="f-sev" value="%s" checked> %s</label>`, sev, sev)
	}
	p(` Provider: <label><input type="checkbox" class="f-prov" value="acronis" checked> Acronis</label><label><input type="checkbox" class="f-prov" value="huaweicbr" checked> Huawei CBR</label>
 <label><input type="checkbox" id="f-new"> new only</label>
 <input id="q" type="search" placeholder="filter by customer, resource, policy, message, id">
 <div><span id="shown"></span> <span id="counts"></span></div>
</div>
`)
}

// reportGroup is one customer (or CBR account / project): a header row with
// counts the filter updates, then its findings, in the one table.
func reportGroup(p func(string, ...any), g group, oldest map[string]time.Time) {
	p(`<tbody class="group" data-customer="%s"><tr class="ghead"><th colspan="7">%s <span class="gcounts"></span>`, esc(g.Customer), esc(g.Customer))
	if t, ok := oldestFor(g, oldest); ok {
		p(`<small class="oldest">oldest last good backup: %s</small>`, esc(stamp(t)))
	}
	p("</th></tr>\n")
	for _, f := range g.Findings {
		newMark := ""
		if f.New {
			newMark = ` <span class="new">new</span>`
		}
		p(`<tr class="finding %s" data-severity="%s" data-provider="%s" data-new="%t">`, esc(f.Severity), esc(f.Severity), esc(f.Provider), f.New)
		p(`<td class="sev">%s%s</td><td>%s<div class="ids">%s</div></td><td>%s</td><td>%s <small>(%s)</small></td><td>%s</td><td>%s</td><td>%s</td></tr>`+"\n",
			esc(f.Severity), newMark, esc(f.Resource), esc(ids(f)), esc(f.Policy), esc(f.Message), esc(f.Rule), reason(f), esc(stamp(f.LastSuccess)), failingSince(f))
	}
	p("</tbody>\n")
}

func oldestFor(g group, oldest map[string]time.Time) (time.Time, bool) {
	for _, f := range g.Findings {
		if t, ok := oldest[cmp.Or(f.TenantID, f.Customer)]; ok && f.Provider == Acronis {
			return t, true
		}
	}
	return time.Time{}, false
}

func ids(f Finding) string {
	var parts []string
	if f.TenantID != "" || f.TenantLegacyID != "" {
		parts = append(parts, "tenant "+strings.TrimSpace(f.TenantID+" "+paren(f.TenantLegacyID)))
	}
	if f.ResourceID != "" {
		parts = append(parts, "resource "+f.ResourceID)
	}
	return strings.Join(parts, " · ")
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func reason(f Finding) string {
	if f.Reason == "" {
		return ""
	}
	out := esc(f.Reason)
	if f.ReasonSource != "none" {
		out += fmt.Sprintf(`<div class="ids">%s %s, %s</div>`, esc(f.ReasonSource), esc(f.ReasonID), esc(stamp(f.ReasonAt)))
	}
	return out
}

// failingSince is the audit's first sighting; the platform's own evidence
// is shown beside it when older (the audit may have started later).
func failingSince(f Finding) string {
	out := esc(stamp(f.FirstSeen))
	if !f.ReasonAt.IsZero() && (f.FirstSeen.IsZero() || f.ReasonAt.Before(f.FirstSeen)) {
		out += fmt.Sprintf(`<div class="ids">%s since %s</div>`, esc(f.ReasonSource), esc(stamp(f.ReasonAt)))
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

const reportScript = `<script>
(function(){
  var q=document.getElementById('q'), onlyNew=document.getElementById('f-new');
  function checked(cls){var s={};document.querySelectorAll(cls).forEach(function(c){if(c.checked)s[c.value]=1});return s}
  function counts(c){return Object.keys(c).sort().map(function(k){return '<span>'+c[k]+' '+k+'</span>'}).join('')}
  function apply(){
    var sev=checked('.f-sev'), prov=checked('.f-prov'), text=q.value.toLowerCase(), shown=0, total={};
    document.querySelectorAll('tbody.group').forEach(function(g){
      var c={}, any=false;
      g.querySelectorAll('tr.finding').forEach(function(r){
        var ok=sev[r.dataset.severity]&&prov[r.dataset.provider]&&(!onlyNew.checked||r.dataset.new==='true')&&
          (!text||(g.dataset.customer+' '+r.textContent).toLowerCase().indexOf(text)>=0);
        r.hidden=!ok;
        if(ok){any=true;shown++;c[r.dataset.severity]=(c[r.dataset.severity]||0)+1;total[r.dataset.severity]=(total[r.dataset.severity]||0)+1}
      });
      g.querySelector('.gcounts').innerHTML=counts(c);
      g.hidden=!any;
    });
    document.getElementById('shown').textContent=shown+' shown';
    document.getElementById('counts').innerHTML=counts(total);
  }
  // The URL fragment sets the filter, so a link can point at a view:
  // #severity=critical,warning&provider=acronis&new=1&q=text
  var h=new URLSearchParams(location.hash.slice(1));
  if(h.get('severity')){var s=h.get('severity').split(',');document.querySelectorAll('.f-sev').forEach(function(c){c.checked=s.indexOf(c.value)>=0})}
  if(h.get('provider')){var p=h.get('provider').split(',');document.querySelectorAll('.f-prov').forEach(function(c){c.checked=p.indexOf(c.value)>=0})}
  if(h.get('new'))onlyNew.checked=true;
  if(h.get('q'))q.value=h.get('q');
  document.querySelectorAll('.bar input').forEach(function(i){i.addEventListener('input',apply);i.addEventListener('change',apply)});
  apply();
})();
</script>
</body></html>
`

func esc(s string) string { return html.EscapeString(s) }
