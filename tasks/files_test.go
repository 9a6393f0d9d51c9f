package tasks

import (
	"strings"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// A changed binary is summarised by its hashes and then what it does; a new
// one by its size and hash alone.
func TestBinaryChangeSummary(t *testing.T) {
	inv := fixture.Example(t)
	d, err := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	var f desired.File
	for _, file := range d.Files {
		if file.Path == nodeapi.BinaryPath {
			f = file
		}
	}
	f.Content = []byte("new")
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
