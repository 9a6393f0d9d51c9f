// Package shellquote quotes values for a POSIX shell. It is haup's only
// quoter: every value put into a script run on a node (or by sh locally)
// goes through Quote.
package shellquote

import (
	"regexp"
	"strings"
)

// plain are the words that mean themselves to a shell in argument
// position: no quoting, globbing, expansion or word splitting applies.
var plain = regexp.MustCompile(`^[A-Za-z0-9_./:=,@%+-]+$`)

// Quote returns s as one shell word. Plain words stay unquoted, so scripts
// read well in logs and tests; anything else is single-quoted, with each
// single quote inside closed, escaped and reopened. The empty string is a
// pair of single quotes.
//
// A plain word holding '=' is an assignment when it stands first in a
// command: Quote is for arguments, not for command names.
func Quote(s string) string {
	if plain.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
