package cmd

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/haup-project/haup/internal/progress"
)

// progressEnv shortens (or lengthens) how often long waits are sampled and
// reported, for the end-to-end tests, whose clones take seconds: a Go
// duration such as 250ms. Not for production use.
const progressEnv = "HAUP_PROGRESS_INTERVAL"

// progressOut is the command's stderr as the writer of `node: ...` progress
// lines: on a terminal a long wait's updates rewrite one line, elsewhere
// (CI, logs) each is a line of its own.
func progressOut(cmd *cobra.Command) *progress.Writer {
	w := cmd.ErrOrStderr()
	o := progress.Options{Terminal: isTerminal(w)}
	if v := os.Getenv(progressEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			fmt.Fprintf(w, "haup: warning: %s=%q is not a positive duration: ignored\n", progressEnv, v)
		} else {
			o.Every = d
		}
	}
	return progress.New(w, o)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
