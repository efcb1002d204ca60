package acronis

import (
	"strings"
	"testing"
	"time"
)

func TestParseStamp(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2020-08-04T12:47:03Z", time.Date(2020, 8, 4, 12, 47, 3, 0, time.UTC), true},
		{"2020-08-04T12:47:03", time.Date(2020, 8, 4, 12, 47, 3, 0, time.UTC), true},
		{"2020-08-04T12:47:03.5", time.Date(2020, 8, 4, 12, 47, 3, 5e8, time.UTC), true},
		{"2020-08-04T14:47:03+02:00", time.Date(2020, 8, 4, 12, 47, 3, 0, time.UTC), true},
		{"2019-05-08 06:57:05", time.Date(2019, 5, 8, 6, 57, 5, 0, time.UTC), true},
		{" 2020-08-04T12:47:03Z\n", time.Date(2020, 8, 4, 12, 47, 3, 0, time.UTC), true},
		{"08/04/2020", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseStamp(tt.in)
		if (err == nil) != tt.ok || tt.ok && !got.Equal(tt.want) {
			t.Errorf("ParseStamp(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func FuzzParseStamp(f *testing.F) {
	for _, s := range []string{"2020-08-04T12:47:03Z", "2020-08-04T12:47:03", "2020-08-04T12:47:03.123456789+05:30", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseStamp(s)
		if err == nil && tm.IsZero() && !strings.HasPrefix(strings.TrimSpace(s), "0001-01-01") {
			t.Fatalf("%q parsed to the zero time", s)
		}
	})
}
