package tasks

import "strings"

// shq quotes s for a POSIX shell. Every value interpolated into a remote
// script goes through it, whether or not validation already constrained it.
func shq(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
