package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// node is a check configuration whose local database refuses connections
// (nothing listens on its port) and whose files are in a temporary
// directory.
func node(t *testing.T) (dir, config string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir = t.TempDir()
	config = filepath.Join(dir, "check.json")
	paths := func(names ...string) []any {
		var out []any
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
		return out
	}
	b := fmt.Sprintf(`{"node":"pg-0","host":"127.0.0.1","port":%d,"user":"postgres","deadline_ms":300,
"state_path":%q,"memory_path":%q,"precedence_path":%q,"peer_seen_path":%q,"sync_state_path":%q,"isolation_path":%q,"port_fence_path":%q,"fence_path":%q}`,
		append([]any{port}, paths("check-last.json", "agent.json", "precedence", "peer-timelines.json", "sync.json", "isolation.json", "port-closed.json", "fence.json")...)...)
	if err := os.WriteFile(config, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, config
}

func check1(t *testing.T, config string) (int, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	code := run([]string{"-config", config}, &stdout, &stderr)
	return code, stderr.String()
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCheckRun: keepalived's run exits 1 with one line, records the report
// and the precedence, and keeps its memory in one record built from the
// earlier agent's files, which go.
func TestCheckRun(t *testing.T) {
	dir, config := node(t)
	os.WriteFile(filepath.Join(dir, "peer-timelines.json"), []byte(`{"pg-1": 2, " silent pg-1": 1, " passing": 2}`), 0o644)
	os.WriteFile(filepath.Join(dir, "sync.json"), []byte(`{"timeline":2,"standby_seen":true}`), 0o644)
	os.WriteFile(filepath.Join(dir, "check-last.json"), []byte(`{"role":"primary","timeline":2,"lsn":"0/9","at":"2026-12-04T12:00:00Z"}`), 0o644)
	code, stderr := check1(t, config)
	if code != 1 || stderr != "haup-check: fail: local database: connection refused\n" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if got := read(t, filepath.Join(dir, "precedence")); got != "0\n" {
		t.Errorf("precedence %q", got)
	}
	last := read(t, filepath.Join(dir, "check-last.json"))
	if !strings.Contains(last, `"reason":"local database: connection refused"`) || !strings.Contains(last, `"known":{"role":"primary","timeline":2,"lsn":"0/9"`) {
		t.Errorf("last report %s", last)
	}
	mem := read(t, filepath.Join(dir, "agent.json"))
	for _, want := range []string{`"version":1`, `"known":{"role":"primary","timeline":2,"lsn":"0/9"`, `"pg-1":{"timeline":2,"silent":true}`, `"sync":{"timeline":2,"standby_seen":true}`} {
		if !strings.Contains(mem, want) {
			t.Errorf("memory lacks %s: %s", want, mem)
		}
	}
	if strings.Contains(mem, `"passing"`) {
		t.Errorf("a failing run keeps its passing count: %s", mem)
	}
	for _, gone := range []string{"peer-timelines.json", "sync.json"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
			t.Errorf("%s left after the migration", gone)
		}
	}
	// The next run reads the record (nothing to migrate, nothing changed:
	// the record is not rewritten).
	st, _ := os.Stat(filepath.Join(dir, "agent.json"))
	if code, _ := check1(t, config); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if again, _ := os.Stat(filepath.Join(dir, "agent.json")); !os.SameFile(st, again) {
		t.Error("an unchanged record was written again")
	}
}

// TestUnreadableMemoryFailsClosed: the check fails saying what to do, and
// leaves the record for repair.
func TestUnreadableMemoryFailsClosed(t *testing.T) {
	dir, config := node(t)
	path := filepath.Join(dir, "agent.json")
	os.WriteFile(path, []byte("{garbage"), 0o600)
	code, stderr := check1(t, config)
	want := "haup-check: fail: agent memory " + path + " unreadable (invalid character 'g' looking for beginning of object key string): the check fails until it is repaired or removed (removing it starts the agent's memory afresh); local database: connection refused\n"
	if code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr\n %q\nwant %q", code, stderr, want)
	}
	if read(t, path) != "{garbage" {
		t.Error("the unreadable record was overwritten")
	}
	// -v: the same verdict.
	var stdout, errb strings.Builder
	if code := run([]string{"-config", config, "-v"}, &stdout, &errb); code != 1 || !strings.Contains(errb.String(), "agent memory") {
		t.Errorf("-v: exit %d, %q", code, errb.String())
	}
	// Removed: the agent starts afresh.
	os.Remove(path)
	if code, stderr := check1(t, config); code != 1 || stderr != "haup-check: fail: local database: connection refused\n" {
		t.Errorf("after removal: exit %d, %q", code, stderr)
	}
}
