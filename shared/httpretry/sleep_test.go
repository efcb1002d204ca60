package httpretry

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Sleep waits the time given unless ctx ends first; a spent ctx wins even
// over a zero wait, so a loop around Sleep stops when its caller is gone.
func TestSleep(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		d       time.Duration
		want    error
		atLeast time.Duration
	}{
		{"zero wait, live ctx", live, 0, nil, 0},
		{"negative wait, live ctx", live, -time.Second, nil, 0},
		{"short wait", live, 20 * time.Millisecond, nil, 20 * time.Millisecond},
		{"zero wait, done ctx", done, 0, context.Canceled, 0},
		{"long wait, done ctx", done, time.Hour, context.Canceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := Sleep(tt.ctx, tt.d)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if took := time.Since(start); took < tt.atLeast || took > tt.atLeast+5*time.Second {
				t.Fatalf("took %v, want about %v", took, tt.atLeast)
			}
		})
	}
}
