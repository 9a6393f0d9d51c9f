package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestSubcommandsSayTheirConfigurationError: every subcommand that reads the
// node's configuration, given one it cannot read, exits 1 with one line
// naming itself and the file, and prints nothing on stdout.
func TestSubcommandsSayTheirConfigurationError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "check.json")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"rejoin", nil},
		{"demote", nil},
		{"pause-failover", []string{"-for", "1m"}},
		{"resume-failover", nil},
		{"progress", []string{"clone"}},
		{"watch", nil},
		{"set-password", []string{"-role", "postgres", "-file", missing}},
		{"update-extensions", nil},
		{"fence-vip", nil},
		{"accept-data-loss", []string{"-end"}},
		{"metrics", nil},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{tc.name, "-config", missing}, tc.args...)
		code := run(args, &stdout, &stderr)
		want := "haup-check: " + tc.name + ": "
		if code != 1 || !strings.HasPrefix(stderr.String(), want) || !strings.Contains(stderr.String(), missing) ||
			strings.Count(stderr.String(), "\n") != 1 || stdout.Len() != 0 {
			t.Errorf("haup-check %s with no configuration: exit %d, stdout %q, stderr %q; want exit 1 and one line starting %q naming %s",
				strings.Join(args, " "), code, stdout.String(), stderr.String(), want, missing)
		}
	}
}
