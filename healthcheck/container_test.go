package healthcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrimaryLock: haup's promotion leaves the image's primary lock as the
// image's standby_promote event does (appended, the standby lock removed),
// and following removes it, as its standby_follow event does.
func TestPrimaryLock(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "lock"), 0o755)
	os.WriteFile(filepath.Join(dir, "lock", "standby.lock"), []byte("1001\n"), 0o644)
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 2; i++ {
		if err := MarkPrimary(dir, at); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "lock", "master.lock"))
	if err != nil || strings.Count(string(b), "2026-12-04 10:00:00") != 2 {
		t.Errorf("master.lock = %q, %v; want the time appended at each promotion", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lock", "standby.lock")); !os.IsNotExist(err) {
		t.Errorf("the standby lock survived the promotion: %v", err)
	}
	if err := unmarkPrimary(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lock", "master.lock")); !os.IsNotExist(err) {
		t.Errorf("the primary lock survived following: %v", err)
	}
	if err := unmarkPrimary(dir); err != nil {
		t.Errorf("removing an absent lock: %v", err)
	}
	if err := MarkPrimary(t.TempDir(), at); err == nil {
		t.Error("a data directory without data/ took a primary lock")
	}
}

func TestNoDatabaseToStop(t *testing.T) {
	for out, want := range map[string]bool{
		"pg_ctl: PID file \"/bitnami/postgresql/data/postmaster.pid\" does not exist\nIs server running?": true,
		"pg_ctl: directory \"/bitnami/postgresql/data\" is not a database cluster directory":              true,
		"Error response from daemon: Container ed8e is restarting, wait until the container is running":   true,
		"pg_ctl: server does not shut down": false,
	} {
		if got := noDatabaseToStop(out); got != want {
			t.Errorf("%q: %v, want %v", out, got, want)
		}
	}
}
