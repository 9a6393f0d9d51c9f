package nodeprobe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/haup-project/haup/probe"
)

// TestCollectFilesAndDirs reads real files: hash, mode and content for text
// files, content withheld for others, absent paths absent without an error.
func TestCollectFilesAndDirs(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "conf")
	secret := filepath.Join(dir, "secret")
	os.WriteFile(text, []byte("interval 2\n"), 0o640)
	os.WriteFile(secret, []byte("hunter2"), 0o600)
	f := Collect(context.Background(), probe.Request{
		Interface: "lo", VIP: "127.0.0.1",
		Files:   []probe.FileRequest{{Path: text, Text: true}, {Path: secret}, {Path: filepath.Join(dir, "absent")}},
		Dirs:    []string{dir, filepath.Join(dir, "nodir")},
		Staging: dir,
	})
	if f.Version != probe.Version || f.Arch == "" {
		t.Fatalf("facts: %+v", f)
	}
	sum := sha256.Sum256([]byte("interval 2\n"))
	if got := f.Files[text]; !got.Exists || got.Mode != 0o640 || got.SHA256 != hex.EncodeToString(sum[:]) || string(got.Content) != "interval 2\n" {
		t.Errorf("text file: %+v", got)
	}
	if got := f.Files[secret]; !got.Exists || got.Content != nil || got.SHA256 == "" {
		t.Errorf("a file not asked as text must not travel: %+v", got)
	}
	if got := f.Files[filepath.Join(dir, "absent")]; got.Exists || got.Error != "" {
		t.Errorf("absent file: %+v", got)
	}
	if !f.Dirs[dir].Exists || f.Dirs[filepath.Join(dir, "nodir")].Exists {
		t.Errorf("dirs: %+v", f.Dirs)
	}
	if !f.Iface.Found || !f.Iface.HoldsVIP {
		t.Errorf("lo with 127.0.0.1: %+v", f.Iface)
	}
	if len(f.Staging) != 2 {
		t.Errorf("staging entries: %v", f.Staging)
	}
}

func TestParseContainer(t *testing.T) {
	c, err := parseContainer(`"sha256:ab" "img:1" "running" "2026-11-24T10:00:00Z" "{\"name\":\"pg\"}"`)
	if err != nil || c.ImageID != "sha256:ab" || c.Status != "running" || c.Spec != `{"name":"pg"}` || !c.Running() {
		t.Fatalf("%+v %v", c, err)
	}
	// A container without haup's label: null.
	if c, err := parseContainer(`"sha256:ab" "img:1" "exited" "x" null`); err != nil || c.Spec != "" || c.Running() {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := parseContainer(`garbage`); err == nil {
		t.Fatal("garbage accepted")
	}
}

// TestLargeFileHashFollowsChanges: a large file's hash may come from the
// cache, but never after the file changed.
func TestLargeFileHashFollowsChanges(t *testing.T) {
	p := filepath.Join(t.TempDir(), "agent")
	big := make([]byte, 2<<20)
	os.WriteFile(p, big, 0o755)
	req := probe.Request{Files: []probe.FileRequest{{Path: p}}}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	for i := 0; i < 2; i++ {
		if got := Collect(context.Background(), req).Files[p].SHA256; got != sum(big) {
			t.Fatalf("run %d: %s, want %s", i, got, sum(big))
		}
	}
	big[0] = 1
	os.WriteFile(p, big, 0o755)
	if got := Collect(context.Background(), req).Files[p].SHA256; got != sum(big) {
		t.Fatalf("after a change: %s, want %s", got, sum(big))
	}
}

// missingTools finds programs on PATH and in the system directories, and
// names those found nowhere.
func TestMissingTools(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	got := missingTools(map[string]string{"sh": "dash", "haup-no-such-tool": "none"})
	if len(got) != 1 || got[0] != "haup-no-such-tool" {
		t.Errorf("missing: %v (sh is in /bin or /usr/bin)", got)
	}
}

// TestParseKeepalivedVersion: the version as the binary prints it, from
// Debian's and a hand build's banner; nothing from other output.
func TestParseKeepalivedVersion(t *testing.T) {
	for out, want := range map[string]string{
		"Keepalived v2.2.8 (04/04,2023), git commit v2.2.7-154-g292b299e+\n\nCopyright(C) 2001-2023 Alexandre Cassen, <acassen@gmail.com>\n": "2.2.8",
		"Keepalived v1.3.9 (10/21,2017)\n":                                 "1.3.9",
		"Keepalived v2.3.2 (11/03,2024), git commit v2.3.1-35-gad1ff9af\n": "2.3.2",
		"sh: keepalived: not found\n":                                      "",
		"":                                                                 "",
	} {
		if got := parseKeepalivedVersion(out); got != want {
			t.Errorf("%q: %q, want %q", out, got, want)
		}
	}
}

func TestLastStartGateLine(t *testing.T) {
	logs := "haup start gate: waiting: no primary answers, ...: promotion refused: x\nother\n2026 haup start gate: waiting: this node's data was a primary, and 1 of 1 partners did not answer (try 2 of 6)\n"
	if got := LastStartGateLine(logs); got != "waiting: this node's data was a primary, and 1 of 1 partners did not answer (try 2 of 6)" {
		t.Errorf("%q", got)
	}
	if got := LastStartGateLine("nothing\n"); got != "" {
		t.Errorf("%q", got)
	}
}
