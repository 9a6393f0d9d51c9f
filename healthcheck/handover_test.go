package healthcheck

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

func TestHandoverRecord(t *testing.T) {
	cfg := nodeapi.Config{HandoverPath: filepath.Join(t.TempDir(), "run", "handover.json")}
	if h, err := ReadHandover(cfg); h != nil || err != nil {
		t.Fatalf("absent: %+v %v", h, err)
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	if err := beginHandover(cfg, now); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHandover(cfg)
	if err != nil || h == nil || !h.At.Equal(now) || !h.Until.Equal(now.Add(nodeapi.HandoverFor)) {
		t.Fatalf("recorded: %+v %v", h, err)
	}
	if err := endHandover(cfg); err != nil {
		t.Fatal(err)
	}
	if err := endHandover(cfg); err != nil {
		t.Fatalf("ending twice: %v", err)
	}
	if h, err := ReadHandover(cfg); h != nil || err != nil {
		t.Fatalf("ended: %+v %v", h, err)
	}
	if err := os.WriteFile(cfg.HandoverFile(), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if h, err := ReadHandover(cfg); h != nil || err == nil {
		t.Fatalf("unreadable: %+v %v, want an error", h, err)
	}
}
