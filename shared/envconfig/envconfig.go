// Package envconfig reads a function's environment into typed values. Each
// reader records what is wrong instead of returning it, so a LoadConfig names
// every bad variable at once, each with its reason, and parses each kind of
// value (required text, strict booleans, whole numbers, numbers) one way.
package envconfig

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Env reads variables through getenv and collects the problems.
type Env struct {
	getenv   func(string) string
	missing  []string
	problems []string
}

// New reads from getenv (os.Getenv in Lambda, a map in tests).
func New(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// Required returns the variable, trimmed; empty is recorded as not set.
func (e *Env) Required(name string) string {
	v := strings.TrimSpace(e.getenv(name))
	if v == "" {
		e.missing = append(e.missing, name)
	}
	return v
}

// Optional returns the variable as set ("" when unset) after check, when
// given, accepts a non-empty value.
func (e *Env) Optional(name string, check func(string) error) string {
	v := e.getenv(name)
	if v != "" && check != nil {
		e.Check(name, check(v))
	}
	return v
}

// Bool accepts only "true" and "false" (empty: def): a typo such as "yes"
// or "True" must not silently mean false for a switch like tenant deletion.
func (e *Env) Bool(name string, def bool) bool {
	switch v := e.getenv(name); v {
	case "":
		return def
	case "true":
		return true
	case "false":
		return false
	default:
		e.fail(name, fmt.Sprintf("%q is not true or false", v))
		return def
	}
}

// Int reads a base-10 whole number within r (empty: def).
func (e *Env) Int(name string, def int, r Range[int]) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || !r.Contains(n) {
		e.fail(name, fmt.Sprintf("%q is not a whole number %s", v, r))
		return def
	}
	return n
}

// Float reads a finite number within r (empty: def); NaN and infinities
// are refused whatever r says.
func (e *Env) Float(name string, def float64, r Range[float64]) float64 {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || !r.Contains(f) {
		e.fail(name, fmt.Sprintf("%q is not a number %s", v, r))
		return def
	}
	return f
}

// Check records err, when not nil, as the reason name is wrong (for checks
// the caller owns: UUIDs, enums, values that depend on each other).
func (e *Env) Check(name string, err error) {
	if err != nil {
		e.fail(name, err.Error())
	}
}

func (e *Env) fail(name, reason string) {
	e.problems = append(e.problems, name+": "+reason)
}

// Err is nil when every variable read was fine; else one error naming
// each missing variable and each bad one with its reason.
func (e *Env) Err() error {
	all := e.problems
	if len(e.missing) > 0 {
		all = append([]string{"environment variable(s) " + strings.Join(e.missing, ", ") + " not set"}, all...)
	}
	if len(all) == 0 {
		return nil
	}
	return errors.New("configuration: " + strings.Join(all, "; "))
}

// Range bounds a number: Min and Max are included unless MinOpen or
// MaxOpen; a Max of the type's largest value (or +Inf) means no upper bound.
type Range[T int | float64] struct {
	Min, Max         T
	MinOpen, MaxOpen bool
}

// AtLeast is [min, no bound).
func AtLeast[T int | float64](min T) Range[T] { return Range[T]{Min: min, Max: top[T]()} }

func top[T int | float64]() T {
	var z T
	switch any(z).(type) {
	case int:
		return T(math.MaxInt)
	default:
		return T(math.Inf(1))
	}
}

// Contains reports whether v lies in the range.
func (r Range[T]) Contains(v T) bool {
	lo := v > r.Min || (!r.MinOpen && v == r.Min)
	hi := v < r.Max || (!r.MaxOpen && v == r.Max)
	return lo && hi
}

// String is the range as an operator reads it: "in (0, 1000]", "of at least 1".
func (r Range[T]) String() string {
	if r.Max == top[T]() {
		if r.MinOpen {
			return fmt.Sprintf("above %v", r.Min)
		}
		return fmt.Sprintf("of at least %v", r.Min)
	}
	open, closed := "[", "]"
	if r.MinOpen {
		open = "("
	}
	if r.MaxOpen {
		closed = ")"
	}
	return fmt.Sprintf("in %s%v, %v%s", open, r.Min, r.Max, closed)
}
