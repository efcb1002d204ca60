package envconfig

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func env(vars map[string]string) *Env { return New(func(k string) string { return vars[k] }) }

func TestRequired(t *testing.T) {
	e := env(map[string]string{"A": " a ", "B": "  ", "C": "c"})
	got := []string{e.Required("A"), e.Required("B"), e.Required("C"), e.Required("D")}
	if strings.Join(got, ",") != "a,,c," {
		t.Fatalf("values %q", got)
	}
	if err := e.Err(); err == nil || err.Error() != "configuration: environment variable(s) B, D not set" {
		t.Fatalf("err %v", err)
	}
}

func TestOptional(t *testing.T) {
	notX := func(v string) error {
		if v == "x" {
			return errors.New("x is refused")
		}
		return nil
	}
	tests := []struct {
		name, value string
		check       func(string) error
		wantErr     string
	}{
		{"unset", "", notX, ""},
		{"set, accepted", "y", notX, ""},
		{"set, refused", "x", notX, "configuration: V: x is refused"},
		{"no check", "x", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env(map[string]string{"V": tt.value})
			if got := e.Optional("V", tt.check); got != tt.value {
				t.Fatalf("got %q", got)
			}
			assertErr(t, e.Err(), tt.wantErr)
		})
	}
}

func TestBool(t *testing.T) {
	tests := []struct {
		value   string
		def     bool
		want    bool
		wantErr string
	}{
		{"", false, false, ""},
		{"", true, true, ""},
		{"true", false, true, ""},
		{"false", true, false, ""},
		{"yes", false, false, `V: "yes" is not true or false`},
		{"True", false, false, `V: "True" is not true or false`},
		{"1", false, false, `V: "1" is not true or false`},
		{" true", false, false, `V: " true" is not true or false`},
	}
	for _, tt := range tests {
		e := env(map[string]string{"V": tt.value})
		if got := e.Bool("V", tt.def); got != tt.want {
			t.Errorf("%q: got %v", tt.value, got)
		}
		assertErr(t, e.Err(), tt.wantErr)
	}
}

func TestInt(t *testing.T) {
	r := Range[int]{Min: 1, Max: 1000}
	tests := []struct {
		value   string
		r       Range[int]
		want    int
		wantErr string
	}{
		{"", r, 4, ""},
		{"1", r, 1, ""},
		{"1000", r, 1000, ""},
		{"0", r, 4, `V: "0" is not a whole number in [1, 1000]`},
		{"1001", r, 4, `V: "1001" is not a whole number in [1, 1000]`},
		{"2.5", r, 4, `V: "2.5" is not a whole number in [1, 1000]`},
		{"4.0", r, 4, `"4.0" is not a whole number`},
		{"1e2", r, 4, `"1e2" is not a whole number`},
		{"fast", r, 4, `"fast" is not a whole number`},
		{"99999999999999999999", AtLeast(1), 4, `is not a whole number of at least 1`},
		{"-3", AtLeast(1), 4, `V: "-3" is not a whole number of at least 1`},
		{"86400", AtLeast(1), 86400, ""},
	}
	for _, tt := range tests {
		e := env(map[string]string{"V": tt.value})
		if got := e.Int("V", 4, tt.r); got != tt.want {
			t.Errorf("%q: got %d", tt.value, got)
		}
		assertErr(t, e.Err(), tt.wantErr)
	}
}

func TestFloat(t *testing.T) {
	posUnder := Range[float64]{Min: 0, MinOpen: true, Max: 1e6, MaxOpen: true}
	tests := []struct {
		value   string
		r       Range[float64]
		want    float64
		wantErr string
	}{
		{"", posUnder, 24, ""},
		{"0.5", posUnder, 0.5, ""},
		{"0", posUnder, 24, `V: "0" is not a number in (0, 1e+06)`},
		{"1e6", posUnder, 24, `"1e6" is not a number in (0, 1e+06)`},
		{"NaN", posUnder, 24, `"NaN" is not a number`},
		{"NaN", Range[float64]{Min: math.Inf(-1), Max: math.Inf(1)}, 24, `"NaN" is not a number`},
		{"+Inf", AtLeast(0.0), 24, `"+Inf" is not a number of at least 0`},
		{"a day", posUnder, 24, `"a day" is not a number`},
		{"0", Range[float64]{Min: 0, Max: 8760}, 0, ""},
		{"8760", Range[float64]{Min: 0, Max: 8760}, 8760, ""},
		{"-1", Range[float64]{Min: 0, Max: 8760}, 24, `"-1" is not a number in [0, 8760]`},
		{"1000", Range[float64]{Min: 0, MinOpen: true, Max: 1000}, 1000, ""},
		{"0", Range[float64]{Min: 0, MinOpen: true, Max: math.Inf(1)}, 24, `"0" is not a number above 0`},
	}
	for _, tt := range tests {
		e := env(map[string]string{"V": tt.value})
		if got := e.Float("V", 24, tt.r); got != tt.want {
			t.Errorf("%q: got %v", tt.value, got)
		}
		assertErr(t, e.Err(), tt.wantErr)
	}
}

// Every problem is reported, not only the first, each naming its variable.
func TestErrNamesEveryProblem(t *testing.T) {
	e := env(map[string]string{"B": "yes", "I": "x", "C": "bad"})
	e.Required("R1")
	e.Bool("B", false)
	e.Int("I", 1, AtLeast(1))
	e.Check("C", errors.New("not a UUID"))
	e.Check("OK", nil)
	e.Required("R2")
	want := `configuration: environment variable(s) R1, R2 not set; B: "yes" is not true or false; I: "x" is not a whole number of at least 1; C: not a UUID`
	if err := e.Err(); err == nil || err.Error() != want {
		t.Fatalf("err %v\nwant %s", err, want)
	}
	if err := env(nil).Err(); err != nil {
		t.Fatalf("nothing read: %v", err)
	}
}

func assertErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v, want %q", err, want)
	}
}

// An environment value is outside input: whatever it is, a reader never
// panics, an accepted number lies in its range, and a refusal names the
// variable.
func FuzzReaders(f *testing.F) {
	for _, s := range []string{"", "true", "0", "1000", "2.5", "NaN", "-Inf", "1e309", "0x1p-2", "1_000", " 7"} {
		f.Add(s)
	}
	ri := Range[int]{Min: 1, Max: 1000}
	rf := Range[float64]{Min: 0, MinOpen: true, Max: 1000}
	f.Fuzz(func(t *testing.T, v string) {
		e := env(map[string]string{"V": v})
		if n := e.Int("V", 4, ri); !ri.Contains(n) {
			t.Fatalf("Int %q = %d", v, n)
		}
		if x := e.Float("V", 10, rf); !rf.Contains(x) || math.IsNaN(x) {
			t.Fatalf("Float %q = %v", v, x)
		}
		b := e.Bool("V", false)
		if b != (v == "true") {
			t.Fatalf("Bool %q = %v", v, b)
		}
		if err := e.Err(); err != nil && !strings.HasPrefix(err.Error(), "configuration: V: ") {
			t.Fatalf("err %v", err)
		}
	})
}
