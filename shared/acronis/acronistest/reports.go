package acronistest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReportBehavior shapes the report lifecycle the simulator plays out.
type ReportBehavior struct {
	ListDelay   time.Duration   // the stored list stays empty this long after creation
	Generation  time.Duration   // then each format is in_progress this long
	FailFormats map[string]bool // these formats end "failed"
	// Size pads each stored report to at least this many uncompressed bytes
	// by repeating the tree's rows, always to a whole row (0 = the tree's
	// rows once). The content is the snapshot taken at creation.
	Size int64
	// Download faults read at each download (they apply at once):
	// DropDownloads cuts the next N downloads after DropAfter bytes of
	// their body; CutRate cuts that fraction of the others at a random
	// point mid-body; IgnoreRange answers 200 with the whole file whatever
	// Range asks, as a server without range support does.
	DropDownloads int
	DropAfter     int64
	CutRate       float64
	IgnoreRange   bool
}

type report struct {
	id        string
	version   int64
	body      map[string]any // as answered
	created   time.Time
	formats   []string          // stored formats: the documented enum only
	storedIDs map[string]string // format -> stored id
	behavior  ReportBehavior
	rows      []reportRow // the tenant tree's usage when the report was created
	meta      reportMeta
	sizes     map[string]int64 // stored id -> compressed size, once computed
}

// SetReportBehavior applies to reports created from now on (download faults
// apply at once).
func (s *Server) SetReportBehavior(b ReportBehavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reportBehavior = b
	s.dropsLeft = b.DropDownloads
}

// StoredReportContent is the uncompressed content a stored report of
// reportID in format serves (tests compare what landed with it).
func (s *Server) StoredReportContent(reportID, format string) (io.Reader, error) {
	s.mu.Lock()
	rep := s.reports[reportID]
	s.mu.Unlock()
	if rep == nil || rep.storedIDs[format] == "" {
		return nil, fmt.Errorf("acronistest: no stored %s report for %s", format, reportID)
	}
	return rep.content(format), nil
}

func (s *Server) routesReports() {
	s.route("POST /api/2/reports", s.handleCreateReport)
	s.route("GET /api/2/reports/{id}", s.handleGetReport)
	s.route("GET /api/2/reports/{id}/stored", s.handleStoredReports)
	s.route("GET /api/2/reports/{id}/stored/{stored}", s.handleDownloadReport)
}

var (
	reportKinds   = []string{"usage_daily", "usage_summary", "usage_current", "usage_breakdown"}
	reportLevels  = []string{"itself", "direct_partners", "all_partners", "all_customers", "accounts"}
	reportFormats = []string{"csv", "html", "json_v1", "csv_v2_0", "json_v2_0"} // reportPost.parameters.formats
	// storedFormats is the stored item's report_format enum in the OpenAPI
	// document (storedReportParams), and report.parameters.formats too.
	// API-NOTES: "The stored item's `report_format` enum in the OpenAPI
	// document is `json_v1, csv_v2_0, csv, html`: `json_v2_0` can be
	// requested but is not in it." The document wins: json_v2_0 is accepted
	// on creation and never stored, and the report's answers leave it out.
	storedFormats = []string{"json_v1", "csv_v2_0", "csv", "html"}
)

type reportParams struct {
	TenantID string   `json:"tenant_id"`
	Level    string   `json:"level"`
	Kind     string   `json:"kind"`
	Formats  []string `json:"formats"`
	Period   *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
	HideZeroUsage *bool `json:"hide_zero_usage"`
	ShowSkus      *bool `json:"show_skus"`
}

type reportPost struct {
	Recipients   *[]string     `json:"recipients"`
	ResultAction string        `json:"result_action"`
	Parameters   *reportParams `json:"parameters"`
	Schedule     *struct {
		Type    string `json:"type"`
		Enabled *bool  `json:"enabled"`
	} `json:"schedule"`
}

// check names what the platform would refuse in a report request.
func (body *reportPost) check() string {
	switch {
	case body.Recipients == nil:
		return "recipients is required"
	case body.ResultAction != "save" && body.ResultAction != "send":
		return "result_action must be save or send"
	case body.Schedule == nil || (body.Schedule.Type != "once" && body.Schedule.Type != "monthly"):
		return "schedule.type must be once or monthly"
	case body.Parameters == nil:
		return "parameters is required"
	}
	p := body.Parameters
	switch {
	case !slices.Contains(reportKinds, p.Kind):
		return "parameters.kind: unknown kind " + p.Kind
	case !slices.Contains(reportLevels, p.Level):
		return "parameters.level: unknown level " + p.Level
	case len(p.Formats) == 0:
		return "parameters.formats: at least one format"
	case !isUUID(p.TenantID):
		return "parameters.tenant_id: not a UUID"
	}
	for _, f := range p.Formats {
		if !slices.Contains(reportFormats, f) {
			return "parameters.formats: unknown format " + f
		}
	}
	if p.Kind != "usage_current" {
		if p.Period == nil {
			return "parameters.period is required for " + p.Kind
		}
		start, err1 := time.Parse(time.DateOnly, p.Period.Start)
		end, err2 := time.Parse(time.DateOnly, p.Period.End)
		if err1 != nil || err2 != nil || end.Before(start) {
			return "parameters.period: start and end are YYYY-MM-DD with start <= end"
		}
	}
	return ""
}

func (s *Server) handleCreateReport(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	var body reportPost
	if !DecodeBody(w, r, &body) {
		return
	}
	if msg := body.check(); msg != "" {
		WriteError(w, http.StatusBadRequest, "BadRequest", msg, "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.inSubtreeLocked(body.Parameters.TenantID, auth.tenantID) {
		WriteError(w, http.StatusForbidden, "Forbidden", "Access to the tenant is denied", "")
		return
	}
	rep := s.newReportLocked(&body)
	if s.reports == nil {
		s.reports = map[string]*report{}
	}
	s.reports[rep.id] = rep
	WriteJSON(w, http.StatusOK, rep.body)
}

// newReportLocked creates a report and snapshots the tree's usage for it.
func (s *Server) newReportLocked(body *reportPost) *report {
	p := body.Parameters
	rep := &report{id: newUUID(s.rng), version: 1, created: s.cfg.Now(), storedIDs: map[string]string{}, behavior: s.reportBehavior}
	for _, f := range p.Formats {
		if slices.Contains(storedFormats, f) {
			rep.formats = append(rep.formats, f)
			rep.storedIDs[f] = newUUID(s.rng)
		}
	}
	day := stamp(rep.created)[:10]
	period := map[string]any{"start": day, "end": day}
	if p.Period != nil {
		period = map[string]any{"start": p.Period.Start, "end": p.Period.End}
	}
	params := map[string]any{"tenant_id": p.TenantID, "level": p.Level, "kind": p.Kind, "formats": slices.Clone(rep.formats), "period": period}
	if p.HideZeroUsage != nil {
		params["hide_zero_usage"] = *p.HideZeroUsage
	}
	if p.ShowSkus != nil {
		params["show_skus"] = *p.ShowSkus
	}
	enabled := true
	if body.Schedule.Enabled != nil {
		enabled = *body.Schedule.Enabled
	}
	rep.body = map[string]any{"id": rep.id, "version": rep.version, "result_action": body.ResultAction,
		"recipients": *body.Recipients, "parameters": params,
		"schedule": map[string]any{"type": body.Schedule.Type, "enabled": enabled}, "generation_date": day}
	rep.meta = reportMeta{Kind: p.Kind, Level: p.Level, Tenant: p.TenantID, Start: period["start"].(string), End: period["end"].(string)}
	rep.rows = s.reportRowsLocked(p.TenantID, p.Level, p.HideZeroUsage != nil && *p.HideZeroUsage)
	for i := range rep.rows {
		rep.rows[i].RangeStart = rep.meta.Start + "T00:00:00" // the report's period, not the usage API's month
	}
	return rep
}

func (s *Server) lookupReport(w http.ResponseWriter, r *http.Request) (*report, bool) {
	id := r.PathValue("id")
	if !isUUID(id) {
		WriteError(w, http.StatusBadRequest, "BadRequest", "report_id is not a UUID", "")
		return nil, false
	}
	s.mu.Lock()
	rep := s.reports[id]
	s.mu.Unlock()
	if rep == nil {
		WriteError(w, http.StatusNotFound, "NotFound", "Report not found", "")
		return nil, false
	}
	return rep, true
}

func (s *Server) handleGetReport(w http.ResponseWriter, r *http.Request, _ tokenInfo) {
	if rep, ok := s.lookupReport(w, r); ok {
		WriteJSON(w, http.StatusOK, rep.body)
	}
}

// state of one format at time now.
func (rep *report) state(format string, now time.Time) (visible bool, status string) {
	age := now.Sub(rep.created)
	if age < rep.behavior.ListDelay {
		return false, ""
	}
	if age < rep.behavior.ListDelay+rep.behavior.Generation {
		return true, "in_progress"
	}
	if rep.behavior.FailFormats[format] {
		return true, "failed"
	}
	return true, "saved"
}

func (s *Server) handleStoredReports(w http.ResponseWriter, r *http.Request, _ tokenInfo) {
	rep, ok := s.lookupReport(w, r)
	if !ok {
		return
	}
	now := s.cfg.Now()
	items := []any{}
	for _, f := range rep.formats {
		visible, st := rep.state(f, now)
		if !visible {
			continue
		}
		item := map[string]any{"id": rep.storedIDs[f], "report_format": f, "created_at": stamp(rep.created), "status": st}
		if st == "saved" {
			item["size"] = s.compressedSize(rep, f)
		}
		items = append(items, item)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

// compressedSize is the gzip size of a stored report: generated once to
// know it, then remembered.
func (s *Server) compressedSize(rep *report, format string) int64 {
	storedID := rep.storedIDs[format]
	s.mu.Lock()
	n, ok := rep.sizes[storedID]
	s.mu.Unlock()
	if ok {
		return n
	}
	cw := &countWriter{}
	_ = writeGzip(cw, rep.content(format))
	s.mu.Lock()
	if rep.sizes == nil {
		rep.sizes = map[string]int64{}
	}
	rep.sizes[storedID] = cw.n
	s.mu.Unlock()
	return cw.n
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// writeGzip compresses body the same way every time, so a download resumed
// at byte N continues the very bytes the first answer began.
func writeGzip(w io.Writer, body io.Reader) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if _, err := io.Copy(zw, body); err != nil {
		return err
	}
	return zw.Close()
}

func (s *Server) handleDownloadReport(w http.ResponseWriter, r *http.Request, _ tokenInfo) {
	rep, ok := s.lookupReport(w, r)
	if !ok {
		return
	}
	storedID := r.PathValue("stored")
	format := ""
	for f, id := range rep.storedIDs {
		if id == storedID {
			format = f
		}
	}
	if format == "" {
		WriteError(w, http.StatusNotFound, "NotFound", "Stored report not found", "")
		return
	}
	if _, st := rep.state(format, s.cfg.Now()); st != "saved" {
		WriteError(w, http.StatusNotFound, "NotFound", "Stored report is not saved", "")
		return
	}
	size := s.compressedSize(rep, format)
	from, ok := s.downloadRange(w, r, size)
	if !ok {
		return
	}
	cutAt := s.downloadCut(size - from)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", storedID+".gz"))
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Length", strconv.FormatInt(size-from, 10))
	status := http.StatusOK
	if from > 0 {
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, size-1, size))
	}
	w.WriteHeader(status)
	bw := bufio.NewWriterSize(w, 64<<10)
	var out io.Writer = &skipWriter{w: bw, skip: from}
	if cutAt >= 0 {
		out = &skipWriter{w: &cutWriter{w: bw, left: cutAt}, skip: from}
	}
	if err := writeGzip(out, rep.content(format)); err == errCut {
		bw.Flush()
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, herr := hj.Hijack(); herr == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	bw.Flush()
}

// downloadRange reads "Range: bytes=N-" (the only form served). It answers
// 416 for other forms and for N past the end; in IgnoreRange mode it serves
// the whole file, as a server without range support does.
func (s *Server) downloadRange(w http.ResponseWriter, r *http.Request, size int64) (int64, bool) {
	rg := r.Header.Get("Range")
	s.mu.Lock()
	ignore := s.reportBehavior.IgnoreRange
	s.mu.Unlock()
	if rg == "" || ignore {
		return 0, true
	}
	v, ok := strings.CutPrefix(rg, "bytes=")
	n, err := strconv.ParseInt(strings.TrimSuffix(v, "-"), 10, 64)
	if !ok || !strings.HasSuffix(v, "-") || err != nil || n < 0 || n >= size {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		WriteError(w, http.StatusRequestedRangeNotSatisfiable, "BadRange", "only bytes=N- ranges within the file are served", "")
		return 0, false
	}
	return n, true
}

// downloadCut decides whether this answer breaks off, and after how many of
// its body bytes (-1: it does not).
func (s *Server) downloadCut(body int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.reportBehavior
	switch {
	case s.dropsLeft > 0:
		s.dropsLeft--
		return b.DropAfter
	case b.CutRate > 0 && body > 1 && s.rng.Float64() < b.CutRate:
		return 1 + s.rng.Int64N(body-1) // mid-body: at least one byte, never all
	}
	return -1
}

type skipWriter struct {
	w    io.Writer
	skip int64
}

func (s *skipWriter) Write(p []byte) (int, error) {
	n := len(p)
	if s.skip > 0 {
		k := min(int64(len(p)), s.skip)
		s.skip -= k
		p = p[k:]
	}
	if len(p) > 0 {
		if _, err := s.w.Write(p); err != nil {
			return 0, err
		}
	}
	return n, nil
}

var errCut = fmt.Errorf("simulated connection drop")

type cutWriter struct {
	w    io.Writer
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		if c.left > 0 {
			_, _ = c.w.Write(p[:c.left])
		}
		c.left = 0
		return 0, errCut
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}

// reportRow is one usage line of a report: a tenant of the simulated tree
// and one of its usage items (the same numbers the usage API answers).
type reportRow struct {
	TenantName    string `json:"tenant_name"`
	TenantUUID    string `json:"tenant_uuid"`
	TenantID      int64  `json:"tenant_id"`
	TenantKind    string `json:"tenant_kind"`
	ParentName    string `json:"parent_name"`
	ApplicationID string `json:"application_id"`
	UsageName     string `json:"usage_name"`
	Edition       string `json:"edition"`
	Unit          string `json:"measurement_unit"`
	Value         string `json:"value"`
	RangeStart    string `json:"range_start"`
}

// reportMeta heads a JSON report.
type reportMeta struct {
	Kind   string `json:"kind"`
	Level  string `json:"level"`
	Tenant string `json:"tenant_id"`
	Start  string `json:"period_start"`
	End    string `json:"period_end"`
}

// reportRowsLocked snapshots the usage of the tenants the level selects
// under root: the report is what the tree held when it was created.
func (s *Server) reportRowsLocked(root, level string, hideZero bool) []reportRow {
	var rows []reportRow
	for _, id := range s.subtreeLocked(root) {
		t := s.tenants[id]
		if !levelIncludes(level, t, root) {
			continue
		}
		parent := ""
		if p := s.tenants[t.ParentID]; p != nil {
			parent = p.Name
		}
		for _, u := range s.usageLocked(t) {
			if hideZero && u.Value == "0" {
				continue
			}
			edition := ""
			if u.Edition != nil {
				edition = *u.Edition
			}
			rows = append(rows, reportRow{TenantName: t.Name, TenantUUID: t.ID, TenantID: t.LegacyID, TenantKind: t.Kind,
				ParentName: parent, ApplicationID: u.ApplicationID, UsageName: u.UsageName, Edition: edition,
				Unit: u.MeasurementUnit, Value: u.Value.String(), RangeStart: u.RangeStart})
		}
	}
	return rows
}

func levelIncludes(level string, t *tenant, root string) bool {
	switch level {
	case "itself":
		return t.ID == root
	case "direct_partners":
		return t.ParentID == root && t.Kind == "partner"
	case "all_partners":
		return t.Kind == "partner"
	case "all_customers":
		return t.Kind == "customer"
	}
	return true // accounts: every tenant
}

// layout is a format rendered: what comes before the rows, each row
// (first and later ones differ in JSON by the separator), and what closes.
type layout struct {
	head, tail   []byte
	first, later [][]byte
}

var (
	csvV1Header = []string{"tenant_name", "tenant_id", "usage_name", "edition", "value", "unit"}
	csvV2Header = []string{"tenant_name", "tenant_uuid", "tenant_legacy_id", "tenant_kind", "parent_name",
		"application_id", "usage_name", "edition", "measurement_unit", "value", "range_start"}
)

func csvLine(fields []string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(fields) // writes to memory: cannot fail
	w.Flush()
	return b.Bytes()
}

func (r reportRow) fields(format string) []string {
	if format == "csv" {
		return []string{r.TenantName, r.TenantUUID, r.UsageName, r.Edition, r.Value, r.Unit}
	}
	return []string{r.TenantName, r.TenantUUID, strconv.FormatInt(r.TenantID, 10), r.TenantKind, r.ParentName,
		r.ApplicationID, r.UsageName, r.Edition, r.Unit, r.Value, r.RangeStart}
}

// render lays out rows in one of the stored formats: CSV with a header row
// (v1 or the wider v2 columns), a JSON document, or an HTML table.
func render(format string, meta reportMeta, rows []reportRow) layout {
	var l layout
	switch format {
	case "csv", "csv_v2_0":
		hdr := csvV1Header
		if format == "csv_v2_0" {
			hdr = csvV2Header
		}
		l.head = csvLine(hdr)
		for _, r := range rows {
			l.first = append(l.first, csvLine(r.fields(format)))
		}
		l.later = l.first
	case "json_v1":
		m, _ := json.Marshal(meta)
		l.head = append(append([]byte(`{"report":`), m...), []byte(`,"items":[`+"\n")...)
		l.tail = []byte("\n]}\n")
		for _, r := range rows {
			b, _ := json.Marshal(r)
			l.first = append(l.first, b)
			l.later = append(l.later, append([]byte(",\n"), b...))
		}
	case "html":
		var h strings.Builder
		h.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Usage report</title></head><body>\n<table>\n<tr>")
		for _, c := range csvV2Header {
			h.WriteString("<th>" + c + "</th>")
		}
		h.WriteString("</tr>\n")
		l.head, l.tail = []byte(h.String()), []byte("</table>\n</body></html>\n")
		for _, r := range rows {
			var b strings.Builder
			b.WriteString("<tr>")
			for _, f := range r.fields("csv_v2_0") {
				b.WriteString("<td>" + html.EscapeString(f) + "</td>")
			}
			b.WriteString("</tr>\n")
			l.first = append(l.first, []byte(b.String()))
		}
		l.later = l.first
	}
	return l
}

// content is a stored report's uncompressed body: every row once, then
// (when Size asks for more) the rows again, ending on a whole row.
func (rep *report) content(format string) io.Reader {
	return &bodyGen{l: render(format, rep.meta, rep.rows), min: rep.behavior.Size}
}

type bodyGen struct {
	l      layout
	min    int64 // keep adding rows while the body would be shorter
	queued int64 // bytes handed to buf so far
	i      int   // rows produced
	stage  int   // 0 head, 1 rows, 2 done
	buf    []byte
}

// next queues the next piece: the head, a row, or the tail once every row
// is out and the body reaches min.
func (g *bodyGen) next() bool {
	switch g.stage {
	case 0:
		g.buf, g.stage = g.l.head, 1
	case 1:
		rows := len(g.l.first)
		switch {
		case rows == 0 || g.i >= rows && g.queued+int64(len(g.l.tail)) >= g.min:
			g.buf, g.stage = g.l.tail, 2
		case g.i == 0:
			g.buf = g.l.first[0]
		default:
			g.buf = g.l.later[g.i%rows]
		}
		g.i++
	default:
		return false
	}
	g.queued += int64(len(g.buf))
	return true
}

func (g *bodyGen) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.buf) == 0 && !g.next() {
			break
		}
		c := copy(p[n:], g.buf)
		g.buf = g.buf[c:]
		n += c
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
