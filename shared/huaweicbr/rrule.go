package huaweicbr

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
)

// MaxInterval is the longest gap between consecutive runs of a schedule
// given as CBR trigger patterns (RRULE subsets such as
// "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=14;BYMINUTE=00"); several patterns run as
// their union. It is what "backup at least every N hours" is judged on.
func MaxInterval(patterns []string) (time.Duration, error) {
	if len(patterns) == 0 {
		return 0, errors.New("rrule: no pattern")
	}
	// Eight weeks covers every period the supported rules can have (weekly
	// intervals up to 8, daily up to 56) at least once.
	const window = 8 * 7 * 24 * time.Hour
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // a Monday
	var runs []time.Time
	for i, p := range patterns {
		r, err := parseRule(p)
		if err != nil {
			return 0, fmt.Errorf("rrule: pattern %d: %w", i+1, err)
		}
		runs = r.occurrences(start, start.Add(window), runs)
	}
	slices.SortFunc(runs, func(a, b time.Time) int { return a.Compare(b) })
	runs = slices.CompactFunc(runs, func(a, b time.Time) bool { return a.Equal(b) })
	if len(runs) < 2 {
		return 0, errors.New("rrule: schedule runs less than twice in eight weeks")
	}
	var gap time.Duration
	for i := 1; i < len(runs); i++ {
		gap = max(gap, runs[i].Sub(runs[i-1]))
	}
	// The schedule repeats, so the wrap from the last run to the first counts too.
	return max(gap, runs[0].Add(window).Sub(runs[len(runs)-1])), nil
}

type rule struct {
	freq     string
	interval int
	days     []time.Weekday
	hours    []int
	minutes  []int
}

var weekdays = map[string]time.Weekday{"MO": time.Monday, "TU": time.Tuesday, "WE": time.Wednesday, "TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday, "SU": time.Sunday}

// set reads one KEY=VALUE part of a rule into r.
func (r *rule) set(k, v string) error {
	var err error
	switch k {
	case "FREQ":
		r.freq = strings.ToUpper(v)
		if r.freq != "HOURLY" && r.freq != "DAILY" && r.freq != "WEEKLY" {
			return fmt.Errorf("FREQ=%s: want HOURLY, DAILY or WEEKLY", inputcheck.Truncate(v, 40))
		}
	case "INTERVAL":
		r.interval, err = strconv.Atoi(v)
		if err != nil || r.interval < 1 || r.interval > 8 && r.freq == "WEEKLY" || r.interval > 56 {
			return fmt.Errorf("INTERVAL=%s: want a whole number from 1 (up to 8 weeks, 56 days or hours)", inputcheck.Truncate(v, 40))
		}
	case "BYDAY":
		for _, d := range strings.Split(v, ",") {
			wd, ok := weekdays[strings.ToUpper(strings.TrimSpace(d))]
			if !ok {
				return fmt.Errorf("BYDAY: %q is not MO..SU", inputcheck.Truncate(d, 40))
			}
			r.days = append(r.days, wd)
		}
	case "BYHOUR":
		if r.hours, err = intList(v, 0, 23); err != nil {
			return fmt.Errorf("BYHOUR: %w", err)
		}
	case "BYMINUTE":
		if r.minutes, err = intList(v, 0, 59); err != nil {
			return fmt.Errorf("BYMINUTE: %w", err)
		}
	default:
		return fmt.Errorf("%s is not supported", inputcheck.Truncate(k, 40))
	}
	return nil
}

func parseRule(p string) (rule, error) {
	r := rule{interval: 1}
	seen := map[string]bool{}
	for _, part := range strings.Split(strings.TrimSpace(p), ";") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.ToUpper(strings.TrimSpace(k))
		if !ok || v == "" {
			return r, fmt.Errorf("%q: want KEY=VALUE", inputcheck.Truncate(part, 40))
		}
		if seen[k] {
			return r, fmt.Errorf("%s given twice", k)
		}
		seen[k] = true
		if err := r.set(k, v); err != nil {
			return r, err
		}
	}
	switch {
	case r.freq == "":
		return r, errors.New("FREQ is missing")
	case r.freq == "WEEKLY" && len(r.days) == 0:
		return r, errors.New("FREQ=WEEKLY needs BYDAY")
	case r.freq == "HOURLY" && len(r.hours) > 0:
		return r, errors.New("FREQ=HOURLY takes no BYHOUR")
	case r.freq == "WEEKLY" && r.interval > 8, r.freq == "DAILY" && r.interval > 56:
		return r, errors.New("INTERVAL too large")
	}
	if len(r.hours) == 0 {
		r.hours = []int{0}
	}
	if len(r.minutes) == 0 {
		r.minutes = []int{0}
	}
	return r, nil
}

func (r rule) occurrences(from, to time.Time, out []time.Time) []time.Time {
	for day := 0; from.AddDate(0, 0, day).Before(to); day++ {
		d := from.AddDate(0, 0, day)
		if len(r.days) > 0 && !slices.Contains(r.days, d.Weekday()) {
			continue
		}
		switch r.freq {
		case "DAILY":
			if day%r.interval != 0 {
				continue
			}
		case "WEEKLY":
			if (day/7)%r.interval != 0 {
				continue
			}
		}
		hours := r.hours
		if r.freq == "HOURLY" {
			hours = nil
			for h := 0; h < 24; h++ {
				if (day*24+h)%r.interval == 0 {
					hours = append(hours, h)
				}
			}
		}
		for _, h := range hours {
			for _, m := range r.minutes {
				out = append(out, d.Add(time.Duration(h)*time.Hour+time.Duration(m)*time.Minute))
			}
		}
	}
	return out
}

func intList(v string, lo, hi int) ([]int, error) {
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%q is not a number from %d to %d", inputcheck.Truncate(s, 40), lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}
