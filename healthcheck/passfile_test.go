package healthcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPassfileLine(t *testing.T) {
	for _, c := range []struct{ user, pw, want string }{
		{"repmgr", "s3cret", "*:*:*:repmgr:s3cret\n"},
		{"repmgr", `a:b\c`, `*:*:*:repmgr:a\:b\\c` + "\n"},
		{"rep:mgr", "x", `*:*:*:rep\:mgr:x` + "\n"},
		{"repmgr", "with space and 'quote'", "*:*:*:repmgr:with space and 'quote'\n"},
	} {
		if got := PassfileLine(c.user, c.pw); got != c.want {
			t.Errorf("PassfileLine(%q, %q) = %q, want %q", c.user, c.pw, got, c.want)
		}
	}
}

// TestWritePassfile: 0600 (libpq ignores a passfile others may read),
// replaced whole, nothing left beside it; a password a passfile cannot
// hold is refused and nothing written.
func TestWritePassfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "repmgr.pgpass")
	uid, gid := os.Getuid(), os.Getgid()
	if err := WritePassfile(path, "repmgr", "first", uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := WritePassfile(path, "repmgr", "second:one", uid, gid); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "*:*:*:repmgr:second\\:one\n" {
		t.Errorf("content %q", b)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("left beside it: %v", entries)
	}
	for _, bad := range []string{"", "two\nlines", "cr\r"} {
		if err := WritePassfile(filepath.Join(dir, "bad"), "repmgr", bad, uid, gid); err == nil {
			t.Errorf("password %q accepted", bad)
		}
		if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
			t.Errorf("password %q: a file was written", bad)
		}
	}
}

// TestPreparePassfile: nothing without REPMGR_USE_PASSFILE=true; a path
// is required with it; written with the repmgr user's password.
func TestPreparePassfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p")
	env := StartGateEnv{User: "repmgr", Password: "pw"}
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if err := PreparePassfile(context.Background(), env, get(nil)); err != nil {
		t.Fatal(err)
	}
	if err := PreparePassfile(context.Background(), env, get(map[string]string{"REPMGR_USE_PASSFILE": "true"})); err == nil || !strings.Contains(err.Error(), "REPMGR_PASSFILE_PATH") {
		t.Errorf("no path: %v", err)
	}
	// As root the image's user is created with the image's own script (the
	// lab's image test covers that): the image is told it runs as root,
	// who exists (not root, the image runs as this process's user).
	if err := PreparePassfile(context.Background(), env, get(map[string]string{"REPMGR_USE_PASSFILE": "true", "REPMGR_PASSFILE_PATH": path, "POSTGRESQL_DAEMON_USER": "root"})); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "*:*:*:repmgr:pw\n" {
		t.Errorf("content %q", b)
	}
}
