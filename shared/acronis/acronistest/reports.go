package acronistest

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
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
	Size        int64           // uncompressed bytes of each generated report (default 64 KiB)
	// DropDownloads: the first N downloads are cut after DropAfter bytes of
	// body (an interrupted transfer).
	DropDownloads int
	DropAfter     int64
}

type report struct {
	id        string
	version   int64
	body      map[string]any // as posted
	created   time.Time
	formats   []string
	storedIDs map[string]string // format -> stored id
	behavior  ReportBehavior
	sizes     map[string]int64 // stored id -> compressed size, once computed
}

// SetReportBehavior applies to reports created from now on (drops apply at once).
func (s *Server) SetReportBehavior(b ReportBehavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.Size <= 0 {
		b.Size = 64 << 10
	}
	s.reportBehavior = b
	s.dropsLeft = b.DropDownloads
}

// ReportBody generates the uncompressed content the simulator serves for a
// stored report: deterministic CSV rows, so tests can compare what landed.
func ReportBody(storedID string, size int64) io.Reader {
	return io.LimitReader(&csvGen{rng: rand.New(rand.NewPCG(seedOf(storedID), 1))}, size)
}

func seedOf(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

type csvGen struct {
	rng  *rand.Rand
	line []byte // backing array reused for every row
	buf  []byte // what is left of the current row
	row  int
}

func (g *csvGen) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.buf) == 0 {
			if g.row == 0 {
				g.buf = []byte("tenant_name,tenant_id,usage_name,edition,value,unit\n")
			} else {
				l := append(g.line[:0], "Customer "...)
				l = strconv.AppendInt(l, int64(10000+g.rng.IntN(90000)), 10)
				l = append(l, ',')
				l = strconv.AppendInt(l, int64(1000+g.rng.IntN(900000)), 10)
				l = append(l, ",storage,pck_per_gigabyte,"...)
				l = strconv.AppendInt(l, int64(g.rng.IntN(10000)), 10)
				l = append(l, '.')
				l = strconv.AppendInt(l, int64(100+g.rng.IntN(900)), 10)
				l = append(l, ",GB\n"...)
				g.line, g.buf = l, l
			}
			g.row++
		}
		c := copy(p[n:], g.buf)
		g.buf = g.buf[c:]
		n += c
	}
	return n, nil
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
	reportFormats = []string{"csv", "html", "json_v1", "csv_v2_0", "json_v2_0"}
)

func (s *Server) handleCreateReport(w http.ResponseWriter, r *http.Request, auth tokenInfo) {
	var body struct {
		Recipients   *[]string `json:"recipients"`
		ResultAction string    `json:"result_action"`
		Parameters   *struct {
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
		} `json:"parameters"`
		Schedule *struct {
			Type    string `json:"type"`
			Enabled *bool  `json:"enabled"`
		} `json:"schedule"`
	}
	if !DecodeBody(w, r, &body) {
		return
	}
	bad := func(msg string) { WriteError(w, http.StatusBadRequest, "BadRequest", msg, "") }
	switch {
	case body.Recipients == nil:
		bad("recipients is required")
		return
	case body.ResultAction != "save" && body.ResultAction != "send":
		bad("result_action must be save or send")
		return
	case body.Schedule == nil || (body.Schedule.Type != "once" && body.Schedule.Type != "monthly"):
		bad("schedule.type must be once or monthly")
		return
	case body.Parameters == nil:
		bad("parameters is required")
		return
	}
	p := body.Parameters
	switch {
	case !slices.Contains(reportKinds, p.Kind):
		bad("parameters.kind: unknown kind " + p.Kind)
		return
	case !slices.Contains(reportLevels, p.Level):
		bad("parameters.level: unknown level " + p.Level)
		return
	case len(p.Formats) == 0:
		bad("parameters.formats: at least one format")
		return
	case !isUUID(p.TenantID):
		bad("parameters.tenant_id: not a UUID")
		return
	}
	for _, f := range p.Formats {
		if !slices.Contains(reportFormats, f) {
			bad("parameters.formats: unknown format " + f)
			return
		}
	}
	if p.Kind != "usage_current" {
		if p.Period == nil {
			bad("parameters.period is required for " + p.Kind)
			return
		}
		start, err1 := time.Parse(time.DateOnly, p.Period.Start)
		end, err2 := time.Parse(time.DateOnly, p.Period.End)
		if err1 != nil || err2 != nil || end.Before(start) {
			bad("parameters.period: start and end are YYYY-MM-DD with start <= end")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.inSubtreeLocked(p.TenantID, auth.tenantID) {
		WriteError(w, http.StatusForbidden, "Forbidden", "Access to the tenant is denied", "")
		return
	}
	rep := &report{id: newUUID(s.rng), version: 1, created: s.cfg.Now(), formats: slices.Clone(p.Formats),
		storedIDs: map[string]string{}, behavior: s.reportBehavior}
	for _, f := range p.Formats {
		rep.storedIDs[f] = newUUID(s.rng)
	}
	params := map[string]any{"tenant_id": p.TenantID, "level": p.Level, "kind": p.Kind, "formats": p.Formats,
		"period": map[string]any{"start": stamp(rep.created)[:10], "end": stamp(rep.created)[:10]}}
	if p.Period != nil {
		params["period"] = map[string]any{"start": p.Period.Start, "end": p.Period.End}
	}
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
		"schedule": map[string]any{"type": body.Schedule.Type, "enabled": enabled}, "generation_date": stamp(rep.created)[:10]}
	if s.reports == nil {
		s.reports = map[string]*report{}
	}
	s.reports[rep.id] = rep
	WriteJSON(w, http.StatusOK, rep.body)
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
			item["size"] = s.compressedSize(rep, rep.storedIDs[f])
		}
		items = append(items, item)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

// compressedSize is the gzip size of a stored report: generated once to
// know it, then remembered.
func (s *Server) compressedSize(rep *report, storedID string) int64 {
	s.mu.Lock()
	n, ok := rep.sizes[storedID]
	s.mu.Unlock()
	if ok {
		return n
	}
	cw := &countWriter{}
	_ = writeGzip(cw, storedID, rep.behavior.Size)
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

func writeGzip(w io.Writer, storedID string, size int64) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if _, err := io.Copy(zw, ReportBody(storedID, size)); err != nil {
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
	var from int64
	if rg := r.Header.Get("Range"); rg != "" {
		v, ok := strings.CutPrefix(rg, "bytes=")
		n, err := strconv.ParseInt(strings.TrimSuffix(v, "-"), 10, 64)
		if !ok || !strings.HasSuffix(v, "-") || err != nil || n < 0 {
			WriteError(w, http.StatusRequestedRangeNotSatisfiable, "BadRange", "only bytes=N- ranges are served", "")
			return
		}
		from = n
	}
	s.mu.Lock()
	drop := s.dropsLeft > 0
	if drop {
		s.dropsLeft--
	}
	dropAfter := s.reportBehavior.DropAfter
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", storedID+".gz"))
	status := http.StatusOK
	if from > 0 {
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-*/*", from))
	}
	w.WriteHeader(status)
	bw := bufio.NewWriterSize(w, 64<<10)
	var out io.Writer = &skipWriter{w: bw, skip: from}
	if drop {
		out = &cutWriter{w: out, left: dropAfter}
	}
	err := writeGzip(out, storedID, rep.behavior.Size)
	if err == errCut {
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
