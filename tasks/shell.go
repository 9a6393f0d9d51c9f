package tasks

import (
	"regexp"
	"strings"
)

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=,@%+-]+$`)

// shq quotes s for a POSIX shell. Every value interpolated into a remote
// script goes through it, whether or not validation already constrained it;
// plain words stay unquoted so scripts read well in logs and tests.
func shq(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
