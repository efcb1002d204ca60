// Package inputcheck holds the small helpers every parser and checker of
// outside input (vendor answers, requests, base URLs) shares: quoting a cut
// of a bad value in an error, and the rule that plain http is only for a
// simulator on this machine. It depends on the standard library only.
package inputcheck

import "strings"

// Truncate cuts s to at most n bytes and marks the cut with "…", so an error
// can quote a bad value without carrying all of it.
func Truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// LoopbackHost says whether host (a URL's Hostname()) names this machine:
// the only place plain http is allowed, for a local simulator.
func LoopbackHost(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}
