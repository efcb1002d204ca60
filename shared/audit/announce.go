package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/objstore"
)

// announcedKey records what has been paged, apart from the baseline: the
// baseline moves only with complete runs, pages must follow every run.
const announcedKey = "audit/announced.json"

// announcedRecord holds the critical findings announced and not yet
// announced resolved.
type announcedRecord struct {
	UpdatedAt time.Time            `json:"updated_at"`
	RunID     string               `json:"run_id"`
	Open      map[string]Announced `json:"open"`
}

// Announced is one critical finding that has been paged.
type Announced struct {
	Key            string    `json:"-"`
	Provider       string    `json:"provider"`
	Customer       string    `json:"customer"`
	TenantID       string    `json:"tenant_id,omitempty"`
	Resource       string    `json:"resource,omitempty"`
	Rule           string    `json:"rule"`
	Message        string    `json:"message"`
	FirstAnnounced time.Time `json:"first_announced"`
	LastAnnounced  time.Time `json:"last_announced"`
}

func (r announcedRecord) clone() announcedRecord {
	r.Open = maps.Clone(r.Open)
	if r.Open == nil {
		r.Open = map[string]Announced{}
	}
	return r
}

// step is one message and the record that holds once it is sent.
type step struct {
	kind    string // "new" (with reminders) or "resolved"
	items   []Announced
	remind  []Announced
	after   announcedRecord
	subject string
	body    string
}

// planInput is what a run knows when it decides what to announce.
type planInput struct {
	prev     announcedRecord
	findings []Finding
	seen     map[string]bool // providers this run saw completely
	now      time.Time
	renotify time.Duration // 0: a still-open critical is never announced again
	runID    string
}

// plan decides the run's messages: at most one for criticals that appeared
// (plus reminders of those still open, when renotify is set) and one for
// criticals that cleared. A critical announced before is never announced
// again as new; one of a provider this run did not see is not "resolved".
func plan(in planInput) []step {
	crit := map[string]Finding{}
	for _, f := range in.findings {
		if f.Severity == Critical {
			crit[f.Key] = f
		}
	}
	var steps []step
	cur := in.prev.clone()
	if s, ok := planNew(in, cur, crit); ok {
		steps, cur = append(steps, s), s.after
	}
	if s, ok := planResolved(in, cur, crit); ok {
		steps = append(steps, s)
	}
	return steps
}

func planNew(in planInput, cur announcedRecord, crit map[string]Finding) (step, bool) {
	s := step{kind: "new", after: cur.clone()}
	for _, k := range slices.Sorted(maps.Keys(crit)) {
		a, open := cur.Open[k]
		switch {
		case !open:
			f := crit[k]
			a = Announced{Key: k, Provider: f.Provider, Customer: f.Customer, TenantID: f.TenantID, Resource: cmp.Or(f.Resource, f.Policy),
				Rule: f.Rule, Message: f.Message, FirstAnnounced: in.now, LastAnnounced: in.now}
			s.items = append(s.items, a)
		case in.renotify > 0 && in.now.Sub(a.LastAnnounced) >= in.renotify:
			a.Key, a.LastAnnounced = k, in.now
			s.remind = append(s.remind, a)
		default:
			continue
		}
		s.after.Open[k] = a
	}
	s.after.UpdatedAt, s.after.RunID = in.now, in.runID
	return s, len(s.items)+len(s.remind) > 0
}

func planResolved(in planInput, cur announcedRecord, crit map[string]Finding) (step, bool) {
	s := step{kind: "resolved", after: cur.clone()}
	for _, k := range slices.Sorted(maps.Keys(cur.Open)) {
		a := cur.Open[k]
		if _, still := crit[k]; still || !in.seen[a.Provider] {
			continue
		}
		a.Key = k
		s.items = append(s.items, a)
		delete(s.after.Open, k)
	}
	s.after.UpdatedAt, s.after.RunID = in.now, in.runID
	return s, len(s.items) > 0
}

// announce pages what plan decided. Order, per message: the record that
// holds after the message is written first, then the message is published.
// A retry of this invocation (or any later run) reads that record and does
// not announce again. If the publish fails, the record is put back as it
// was, so the next run announces again. The failure mode left: the process
// dies between the record write and the publish (or the rollback fails),
// and that message is lost rather than sent twice; the run then fails and
// the errors alarm fires.
func (r *run) announce(ctx context.Context, j *Job) error {
	if j.Notifier == nil || !r.sum.Scope.Full() {
		return nil
	}
	var prev announcedRecord
	if _, err := getJSON(ctx, j.Store, announcedKey, &prev); err != nil {
		r.log.Error("announced record unreadable: nothing announced this run; fix or delete it (s3:ListBucket lets a missing key read as missing)",
			"key", announcedKey, "error", err.Error())
		return fmt.Errorf("audit: nothing announced, %s unreadable: %w", announcedKey, err)
	}
	steps := plan(planInput{prev: prev, findings: r.findings, seen: r.seenProviders(), now: r.started, renotify: j.RenotifyAfter, runID: r.sum.RunID})
	cur := prev
	for _, s := range steps {
		if err := r.publish(ctx, j, s, cur); err != nil {
			return err
		}
		cur = s.after
	}
	return nil
}

func (r *run) publish(ctx context.Context, j *Job, s step, before announcedRecord) error {
	s.subject, s.body = r.message(s)
	full := r.prefix + "notify-" + s.kind + ".txt"
	if err := j.Store.Put(ctx, full, strings.NewReader(fullList(s)), objstore.PutOptions{ContentType: "text/plain; charset=utf-8"}); err != nil {
		return fmt.Errorf("audit: write %s (nothing announced): %w", full, err)
	}
	if err := putJSON(ctx, j.Store, announcedKey, s.after); err != nil {
		return fmt.Errorf("audit: nothing announced: %w", err)
	}
	if err := j.Notifier.Notify(ctx, s.subject, s.body); err != nil {
		if rerr := putJSON(ctx, j.Store, announcedKey, before); rerr != nil {
			return fmt.Errorf("audit: notify %s failed and the record could not be put back (this message is lost): %w", s.kind, errors.Join(err, rerr))
		}
		return fmt.Errorf("audit: notify %s (record put back: the next run announces again): %w", s.kind, err)
	}
	r.res.Notified = true
	switch s.kind {
	case "new":
		r.res.Announced, r.res.Reminded = len(s.items), len(s.remind)
	case "resolved":
		r.res.Resolved = len(s.items)
	}
	return nil
}

// seenProviders are those whose collection completed this run, whole.
func (r *run) seenProviders() map[string]bool {
	seen := map[string]bool{}
	for p, st := range r.sum.Providers {
		// A provider with problems (an evidence endpoint down, deliveries
		// not paged through) was not seen whole: what it did not return is
		// not "resolved".
		seen[p] = st.Status == "ok" && len(st.Problems) == 0
	}
	return seen
}

// maxListed caps the findings listed in a message; the full list is in S3.
const maxListed = 20

// message is plain text without links, for e-mail and SMS alike: the
// subject and the first line say what happened, how many, and where.
func (r *run) message(s step) (subject, body string) {
	var b strings.Builder
	what := "new critical"
	if s.kind == "resolved" {
		what = "critical resolved"
	}
	if s.kind == "new" && len(s.items) == 0 {
		what = "critical still open"
	}
	all := append(append([]Announced(nil), s.items...), s.remind...)
	subject = fmt.Sprintf("Backup audit: %d %s (%s)", len(all), what, customerList(all, 60))
	fmt.Fprintf(&b, "%d %s: %s.\n", len(all), what, customerList(all, 200))
	if len(s.remind) > 0 && len(s.items) > 0 {
		fmt.Fprintf(&b, "%d new, %d still open since an earlier message.\n", len(s.items), len(s.remind))
	}
	b.WriteString("\n")
	for i, a := range all {
		if i == maxListed {
			fmt.Fprintf(&b, "... and %d more\n", len(all)-maxListed)
			break
		}
		fmt.Fprintf(&b, "- %s / %s: %s (%s, %s)\n", a.Customer, a.Resource, a.Message, a.Rule, a.Provider)
	}
	fmt.Fprintf(&b, "\nFull list: %snotify-%s.txt; report: %sreport.html (run %s).\n", r.prefix, s.kind, r.prefix, r.sum.RunID)
	return subject, b.String()
}

// customerList names customers, most findings first, within about n characters.
func customerList(as []Announced, n int) string {
	count := map[string]int{}
	for _, a := range as {
		count[cmp.Or(a.Customer, "(unknown customer)")]++
	}
	names := slices.Sorted(maps.Keys(count))
	sort.SliceStable(names, func(i, j int) bool { return count[names[i]] > count[names[j]] })
	var b strings.Builder
	for i, c := range names {
		part := fmt.Sprintf("%s (%d)", c, count[c])
		if b.Len() > 0 && b.Len()+len(part) > n {
			fmt.Fprintf(&b, " +%d more", len(names)-i)
			break
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(part)
	}
	return b.String()
}

func fullList(s step) string {
	var b strings.Builder
	for _, a := range append(append([]Announced(nil), s.items...), s.remind...) {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.kind, a.Provider, a.Customer, a.TenantID, a.Resource, a.Rule, a.Message)
	}
	return b.String()
}
