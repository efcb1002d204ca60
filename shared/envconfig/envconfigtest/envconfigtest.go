// Package envconfigtest runs the table every function's LoadConfig is tested
// with: one variable changed over a base environment, then the typed
// configuration or the error naming the variable.
package envconfigtest

import (
	"maps"
	"reflect"
	"strings"
	"testing"
)

// Case sets Key to Value over the base environment (Key "" changes nothing).
// It is an alias of an unnamed struct so tables can list cases by position.
type Case[C any] = struct {
	Name, Key, Value string
	Want             func(*C) // edits the defaults into the expected configuration
	WantErr          string   // a part of the error; "" means no error
}

// Run checks load against every case: the error contains WantErr, or the
// configuration equals defaults as Want edits them.
func Run[C any](t *testing.T, load func(getenv func(string) string) (C, error), base map[string]string, defaults C, cases []Case[C]) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			env := maps.Clone(base)
			if tt.Key != "" {
				env[tt.Key] = tt.Value
			}
			got, err := load(func(k string) string { return env[k] })
			if tt.WantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.WantErr) {
					t.Fatalf("err %v, want %q", err, tt.WantErr)
				}
				return
			}
			want := defaults
			tt.Want(&want)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, want)
			}
		})
	}
}
