package apply

import "github.com/haup-project/haup/internal/shellquote"

// shq quotes s for a POSIX shell (shellquote.Quote). Every value
// interpolated into a remote script goes through it, whether or not
// validation already constrained it.
var shq = shellquote.Quote
