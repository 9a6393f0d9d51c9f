package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMetricsWrite: `haup-check metrics` writes haup.prom in metrics_dir
// for a node whose database is down, with keepalived's last verdict; and
// refuses, saying why, when metrics are off.
func TestMetricsWrite(t *testing.T) {
	dir, config := node(t)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"metrics", "-config", config}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "metrics: off (") {
		t.Errorf("metrics off: exit %d, %q", code, stderr.String())
	}

	// keepalived's last run, as the cycle writes it.
	last := `{"node":"pg-0","pass":false,"reason":"local database down","code":"local-down","role":"down","latency_ms":1,"at":"2025-03-01T12:00:00Z","duration_ms":301.5}`
	if err := os.WriteFile(filepath.Join(dir, "check-last.json"), []byte(last), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(config)
	textfile := filepath.Join(dir, "textfile")
	os.Mkdir(textfile, 0o755)
	b = bytes.Replace(b, []byte(`{"node"`), []byte(`{"metrics_dir":"`+textfile+`","node"`), 1)
	if err := os.WriteFile(config, b, 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run([]string{"metrics", "-config", config}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(filepath.Join(textfile, "haup.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`haup_role{node="pg-0",role="down"} 1`,
		`haup_last_check_code{node="pg-0",code="local-down"} 1`,
		`haup_last_check_duration_seconds{node="pg-0"} 0.3015`,
		`haup_holds_vip{node="pg-0"} 0`,
	} {
		if !strings.Contains(string(got), want+"\n") {
			t.Errorf("haup.prom lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "metrics.lock")); err != nil {
		t.Errorf("no lock beside the check's report: %v", err)
	}
}
