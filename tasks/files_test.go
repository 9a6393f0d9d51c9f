package tasks

import (
	"strings"
	"testing"

	"github.com/haup-project/haup/probe"
)

// A changed binary is summarised by its hashes and then what it does; a new
// one by its size and hash alone.
func TestBinaryChangeSummary(t *testing.T) {
	f := File{Path: "/usr/local/libexec/haup/haup-check", Mode: 0o755, Binary: true, Content: []byte("new"), Effect: checkProgramEffect}
	old := probe.FileFact{Exists: true, Mode: 0o755, SHA256: sha256hex([]byte("old"))}
	c := fileChanges(f, old, nil)
	want := "content changed, sha256 " + sha256hex([]byte("new"))[:12] + " (was " + sha256hex([]byte("old"))[:12] + "); keepalived runs the new health check from its next check (within the check interval; no reload, no restart)"
	if len(c) != 1 || c[0].Summary != want {
		t.Errorf("got %+v\nwant %q", c, want)
	}
	c = fileChanges(f, probe.FileFact{}, nil)
	if len(c) != 1 || strings.Contains(c[0].Summary, "keepalived") {
		t.Errorf("a new binary: %+v", c)
	}
}
