package healthcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haup-project/haup/nodeapi"
)

// WritePrecedence keeps the file keepalived tracks, writing it only when
// it differs, and again when keepalived reset it.
func TestWritePrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := nodeapi.Config{PrecedencePath: filepath.Join(dir, "precedence")}
	read := func() string {
		b, err := os.ReadFile(cfg.PrecedencePath)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if err := WritePrecedence(cfg, 0); err != nil || read() != "0" {
		t.Fatalf("0: %v file %q", err, read())
	}
	st, _ := os.Stat(cfg.PrecedencePath)
	if err := WritePrecedence(cfg, 0); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(cfg.PrecedencePath); !os.SameFile(st, again) {
		t.Error("an unchanged precedence was written again (keepalived watches the file)")
	}
	if err := WritePrecedence(cfg, 1); err != nil || read() != "1" {
		t.Fatalf("1: %v file %q", err, read())
	}
	// keepalived's init_file resets it at a restart: the next check writes it again.
	os.WriteFile(cfg.PrecedencePath, []byte("0\n"), 0o644)
	if err := WritePrecedence(cfg, 1); err != nil || read() != "1" {
		t.Fatalf("after a reset: %v, file %q", err, read())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files in the state directory: %v", entries)
	}
}
