package huaweicbr

import (
	"strings"
	"testing"
	"time"
)

func TestMaxInterval(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		want     time.Duration
		wantErr  string
	}{
		{"daily at 14:00 (the seed)", []string{"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=14;BYMINUTE=00"}, 24 * time.Hour, ""},
		{"twice a day", []string{"FREQ=DAILY;INTERVAL=1;BYHOUR=2,14;BYMINUTE=00"}, 12 * time.Hour, ""},
		{"uneven hours", []string{"FREQ=DAILY;BYHOUR=1,5;BYMINUTE=30"}, 20 * time.Hour, ""},
		{"every 3 days", []string{"FREQ=DAILY;INTERVAL=3;BYHOUR=0"}, 72 * time.Hour, ""},
		{"every 4 hours", []string{"FREQ=HOURLY;INTERVAL=4;BYMINUTE=15"}, 4 * time.Hour, ""},
		{"weekdays only", []string{"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=22;BYMINUTE=00"}, 72 * time.Hour, ""},
		{"weekly", []string{"FREQ=WEEKLY;BYDAY=SU;BYHOUR=3"}, 7 * 24 * time.Hour, ""},
		{"every other week", []string{"FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=3"}, 14 * 24 * time.Hour, ""},
		{"union of two", []string{"FREQ=WEEKLY;BYDAY=MO;BYHOUR=0", "FREQ=WEEKLY;BYDAY=TH;BYHOUR=0"}, 4 * 24 * time.Hour, ""},
		{"no patterns", nil, 0, "no pattern"},
		{"no FREQ", []string{"BYHOUR=1"}, 0, "FREQ is missing"},
		{"bad FREQ", []string{"FREQ=YEARLY"}, 0, "FREQ=YEARLY"},
		{"bad day", []string{"FREQ=WEEKLY;BYDAY=XX"}, 0, `BYDAY: "XX"`},
		{"bad hour", []string{"FREQ=DAILY;BYHOUR=24"}, 0, "BYHOUR"},
		{"weekly without day", []string{"FREQ=WEEKLY;BYHOUR=1"}, 0, "needs BYDAY"},
		{"unknown key", []string{"FREQ=DAILY;BYMONTH=1"}, 0, "BYMONTH is not supported"},
		{"second pattern bad", []string{"FREQ=DAILY", "FREQ="}, 0, "pattern 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MaxInterval(tt.patterns)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func FuzzMaxInterval(f *testing.F) {
	for _, s := range []string{"FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=14;BYMINUTE=00", "FREQ=HOURLY;INTERVAL=4", "FREQ=DAILY;INTERVAL=56", ";;=;", "FREQ=DAILY;BYHOUR=1,2,3,-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		d, err := MaxInterval([]string{p})
		if err == nil && (d <= 0 || d > 8*7*24*time.Hour) {
			t.Fatalf("%q: interval %v out of range", p, d)
		}
	})
}
