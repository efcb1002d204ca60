package audit

import (
	"fmt"
	"html"
	"io"
	"sort"
	"strings"
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
		c := firstNonEmpty(f.Customer, "(unknown customer)")
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
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backup policy audit %s (%s)</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em} .meta{color:#555;margin-bottom:1em}
.partial{background:#fde2e2;border:1px solid #e99;padding:.6em;margin:.6em 0}
.bar{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd}
.bar label{margin-right:1em} #q{width:18em}
section{margin:1em 0} h2{font-size:1.1em;margin:.2em 0}
table{border-collapse:collapse;width:100%%} td,th{border-bottom:1px solid #eee;padding:.25em .5em;text-align:left;vertical-align:top}
.sev{font-weight:600;text-transform:uppercase;font-size:.8em}
.critical .sev{color:#b00} .warning .sev{color:#a60} .unknown .sev{color:#55a}
.new{background:#ffd;font-size:.75em;padding:0 .3em;border:1px solid #cc8}
.counts span{margin-right:.8em}
</style>
</head><body>
<h1>Backup policy audit</h1>
<div class="meta">Run %s, %s.
<span id="total">%d</span> findings: `, esc(s.Date), esc(s.RunID), esc(s.RunID), esc(s.StartedAt.Format("2006-01-02 15:04 MST")), s.Total)
	for _, k := range sortedKeys(s.BySeverity) {
		p("<span>%d %s</span> ", s.BySeverity[k], esc(k))
	}
	if s.PreviousRun != "" {
		p("— %d new since run %s.\n", s.New, esc(s.PreviousRun))
	} else {
		p("— %d new (first run: no earlier one to compare with).\n", s.New)
	}
	p("Providers: ")
	for _, k := range sortedKeys(s.Providers) {
		p("%s: %s; ", esc(k), esc(s.Providers[k].Status))
	}
	p("</div>\n")
	if s.Partial {
		p(`<div class="partial" id="partial">PARTIAL RUN: provider(s) %s failed. The findings below come from the others only.</div>`+"\n", esc(strings.Join(s.FailedProviders, ", ")))
	}
	p(`<div class="bar">
 Severity: `)
	for _, sev := range []string{Critical, Warning, Unknown, Info} {
		p(`<label><input type="checkbox" class="f-sev" value="%s" checked> %s</label>`, sev, sev)
	}
	p(` Provider: <label><input type="checkbox" class="f-prov" value="acronis" checked> Acronis</label><label><input type="checkbox" class="f-prov" value="huaweicbr" checked> Huawei CBR</label>
 <label><input type="checkbox" id="f-new"> new only</label>
 <input id="q" type="search" placeholder="filter by customer, resource, policy, message">
 <span id="shown"></span>
</div>
`)
	gs := groups(fs)
	for _, g := range gs {
		p(`<section class="group" data-customer="%s">`+"\n<h2>%s</h2><div class=\"counts\">", esc(g.Customer), esc(g.Customer))
		for _, k := range sortedKeys(g.Counts) {
			p("<span>%d %s</span>", g.Counts[k], esc(k))
		}
		p("</div>\n<table><thead><tr><th>severity</th><th>provider</th><th>resource</th><th>policy</th><th>finding</th></tr></thead><tbody>\n")
		for _, f := range g.Findings {
			newMark := ""
			if f.New {
				newMark = ` <span class="new">new</span>`
			}
			p(`<tr class="finding %s" data-severity="%s" data-provider="%s" data-new="%t">`+"\n"+`<td class="sev">%s%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s <small>(%s)</small></td></tr>`+"\n",
				esc(f.Severity), esc(f.Severity), esc(f.Provider), f.New, esc(f.Severity), newMark, esc(f.Provider), esc(f.Resource), esc(f.Policy), esc(f.Message), esc(f.Rule))
		}
		p("</tbody></table></section>\n")
	}
	if len(gs) == 0 {
		p(`<p id="none">No findings.</p>` + "\n")
	}
	b.WriteString(`<script>
(function(){
  var q=document.getElementById('q'), onlyNew=document.getElementById('f-new');
  function checked(cls){var s={};document.querySelectorAll(cls).forEach(function(c){if(c.checked)s[c.value]=1});return s}
  function apply(){
    var sev=checked('.f-sev'), prov=checked('.f-prov'), text=q.value.toLowerCase(), shown=0;
    document.querySelectorAll('section.group').forEach(function(g){
      var any=false;
      g.querySelectorAll('tr.finding').forEach(function(r){
        var ok=sev[r.dataset.severity]&&prov[r.dataset.provider]&&(!onlyNew.checked||r.dataset.new==='true')&&
          (!text||(g.dataset.customer+' '+r.textContent).toLowerCase().indexOf(text)>=0);
        r.hidden=!ok; if(ok){any=true;shown++}
      });
      g.hidden=!any;
    });
    document.getElementById('shown').textContent=shown+' shown';
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
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func esc(s string) string { return html.EscapeString(s) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
