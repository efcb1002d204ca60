package audit

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func crit(key, provider, customer string) Finding {
	return Finding{Key: key, Provider: provider, Customer: customer, Severity: Critical, Rule: RuleStatus, Resource: "r-" + key, Message: "policy status error"}
}

func openRec(at time.Time, fs ...Finding) announcedRecord {
	r := announcedRecord{Open: map[string]Announced{}}
	for _, f := range fs {
		r.Open[f.Key] = Announced{Provider: f.Provider, Customer: f.Customer, Rule: f.Rule, FirstAnnounced: at, LastAnnounced: at}
	}
	return r
}

func TestPlan(t *testing.T) {
	a1, a2, c1 := crit("a1", Acronis, "Cust A"), crit("a2", Acronis, "Cust B"), crit("c1", HuaweiCBR, "acct")
	warn := a2
	warn.Severity = Warning
	both := map[string]bool{Acronis: true, HuaweiCBR: true}
	onlyAcronis := map[string]bool{Acronis: true, HuaweiCBR: false}
	day := 24 * time.Hour
	tests := []struct {
		name     string
		prev     announcedRecord
		findings []Finding
		seen     map[string]bool
		renotify time.Duration
		want     string // kind:keys;... of the messages planned
	}{
		{"first sighting: one message", announcedRecord{}, []Finding{a1, a2, c1}, both, 0, "new:a1,a2,c1"},
		{"already announced: nothing", openRec(now, a1, a2), []Finding{a1, a2}, both, 0, ""},
		{"one more appears: only it", openRec(now, a1), []Finding{a1, a2}, both, 0, "new:a2"},
		{"cleared: one resolved message", openRec(now, a1, a2, c1), nil, both, 0, "resolved:a1,a2,c1"},
		{"critical turned warning: resolved", openRec(now, a2), []Finding{warn}, both, 0, "resolved:a2"},
		{"provider not seen: its criticals are not resolved", openRec(now, a1, c1), nil, onlyAcronis, 0, "resolved:a1"},
		{"new and resolved in one run: two messages", openRec(now, a1), []Finding{a2}, both, 0, "new:a2;resolved:a1"},
		{"renotify off: still open stays quiet", openRec(now.Add(-30*day), a1), []Finding{a1}, both, 0, ""},
		{"renotify due", openRec(now.Add(-day), a1), []Finding{a1}, both, day, "new:+a1"},
		{"renotify not yet due", openRec(now.Add(-day+time.Minute), a1), []Finding{a1}, both, day, ""},
		{"renotify with a new one: one message", openRec(now.Add(-2*day), a1), []Finding{a1, a2}, both, day, "new:a2+a1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := plan(planInput{prev: tt.prev, findings: tt.findings, seen: tt.seen, now: now, renotify: tt.renotify, runID: "r"})
			var got []string
			for _, s := range steps {
				got = append(got, s.kind+":"+keysOfAnnounced(s.items)+plusKeys(s.remind))
			}
			if g := strings.Join(got, ";"); g != tt.want {
				t.Fatalf("planned %q, want %q", g, tt.want)
			}
			if len(steps) == 0 {
				return
			}
			// Replaying the last record with the same findings plans nothing more.
			again := plan(planInput{prev: steps[len(steps)-1].after, findings: tt.findings, seen: tt.seen, now: now, renotify: tt.renotify, runID: "r2"})
			if len(again) != 0 {
				t.Fatalf("a retry would announce again: %+v", again)
			}
		})
	}
}

func keysOfAnnounced(as []Announced) string {
	var k []string
	for _, a := range as {
		k = append(k, a.Key)
	}
	return strings.Join(k, ",")
}

func plusKeys(as []Announced) string {
	if len(as) == 0 {
		return ""
	}
	return "+" + keysOfAnnounced(as)
}

// The subject and the first line carry what, how many and who: an SMS
// gateway keeps the first ~140 characters only.
func TestMessageFitsSMS(t *testing.T) {
	var fs []Finding
	for i := range 30 {
		fs = append(fs, crit(string(rune('a'+i%26))+strings.Repeat("x", i), Acronis, []string{"Contoso Dental", "Ålesund Kommune", "Northwind"}[i%3]))
	}
	steps := plan(planInput{findings: fs, seen: map[string]bool{Acronis: true}, now: now, runID: "r"})
	r := &run{prefix: "audit/dt=x/run=r/", sum: Summary{RunID: "r"}}
	subject, body := r.message(steps[0])
	first := strings.SplitN(body, "\n", 2)[0]
	for _, want := range []string{"30 new critical", "Contoso Dental (10)"} {
		if !strings.Contains(subject, want) || !strings.Contains(first, want) {
			t.Fatalf("subject %q / first line %q lack %q", subject, first, want)
		}
	}
	if len(subject) > 100 || len(first) > 140 || strings.Contains(body, "http") {
		t.Fatalf("subject %d chars, first line %d chars, or a link: %q", len(subject), len(first), body)
	}
	if !strings.Contains(body, "... and 10 more") || !strings.Contains(body, "notify-new.txt") {
		t.Fatalf("the body does not point at the full list: %s", body)
	}
}

func TestReserve(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // 0: no deadline
		fixed   time.Duration
		want    time.Duration
	}{
		{"Lambda's 600 s: capped", 600 * time.Second, 0, maxReserve},
		{"30 s: a fifth", 30 * time.Second, 0, 6 * time.Second},
		{"5 s: the floor", 5 * time.Second, 0, minReserve},
		{"no deadline", 0, 0, maxReserve},
		{"set explicitly", 600 * time.Second, 90 * time.Second, 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			got := (&Job{WriteReserve: tt.fixed}).reserve(ctx)
			if got > tt.want || got < tt.want-time.Second {
				t.Fatalf("reserve %s, want %s", got, tt.want)
			}
		})
	}
}

// The announced record is read back from S3: any content either fails to
// decode or plans without panicking, and a replay plans nothing new.
func FuzzAnnouncedRecord(f *testing.F) {
	f.Add([]byte(`{"open":{"a1":{"provider":"acronis","customer":"C","rule":"policy_status","last_announced":"2026-11-20T00:00:00Z"}}}`))
	f.Add([]byte(`{"open":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var rec announcedRecord
		if json.Unmarshal(b, &rec) != nil {
			return
		}
		in := planInput{prev: rec, findings: []Finding{crit("a1", Acronis, "C")}, seen: map[string]bool{Acronis: true}, now: now, renotify: time.Hour, runID: "r"}
		steps := plan(in)
		if len(steps) > 0 {
			in.prev = steps[len(steps)-1].after
			for _, s := range plan(in) {
				if len(s.items) > 0 {
					t.Fatalf("replay announces again: %+v", s)
				}
			}
		}
	})
}
