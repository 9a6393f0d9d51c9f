package healthcheck

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
)

func syncNames(t *testing.T, cfg nodeapi.Config) string {
	t.Helper()
	rows, err := query(context.Background(), cfg, testPassword, "postgres", "SHOW synchronous_standby_names")
	if err != nil {
		t.Fatal(err)
	}
	return rows[0][0]
}

// commits reports whether a write commits within d.
func commits(t *testing.T, cfg nodeapi.Config, d time.Duration) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, err := query(ctx, cfg, testPassword, "postgres", "CREATE TABLE IF NOT EXISTS zl (x int); INSERT INTO zl VALUES (1)")
	return err == nil
}

// manage is one keepalived run through the agent; mem is its memory
// across the test's runs.
func manage(t *testing.T, cfg nodeapi.Config, mem *agent.Memory) string {
	t.Helper()
	r, _ := agentRun(t, cfg, mem)
	if !r.Pass {
		t.Fatalf("primary does not pass: %s", r.Reason)
	}
	v := r.Sync
	// The reload takes effect in the backends at their next command.
	time.Sleep(300 * time.Millisecond)
	return v
}

// TestZeroLossRule walks the zero-loss rule through its cases on a real
// primary and standby.
func TestZeroLossRule(t *testing.T) {
	p := newPrimary(t, "")
	cfg := p.config()
	cfg.Synchronous = true
	var mem agent.Memory

	// A new primary that no standby has streamed from: asynchronous.
	if v := manage(t, cfg, &mem); !strings.HasPrefix(v, nodeapi.SyncSuspended+": no standby has streamed") || syncNames(t, cfg) != "" {
		t.Fatalf("no standby yet: %q, names %q", v, syncNames(t, cfg))
	}
	s := newStandby(t, p)
	withPeer := p.config(s)
	withPeer.Synchronous = true
	deadline := time.Now().Add(10 * time.Second)
	v := manage(t, withPeer, &mem)
	for !strings.HasPrefix(v, nodeapi.SyncOn) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		v = manage(t, withPeer, &mem)
	}
	if !strings.HasPrefix(v, nodeapi.SyncOn) || syncNames(t, cfg) != SyncNames {
		t.Fatalf("standby streaming: %q, names %q", v, syncNames(t, cfg))
	}
	if !commits(t, cfg, 5*time.Second) {
		t.Fatal("a write does not commit with a synchronous standby streaming")
	}

	// The standby's database stops: its host answers (refused), it cannot
	// be promoted, commits go on.
	s.stop()
	// Commits wait for two checks (the standby's promotion gate sees it
	// first), and go through from the third in a row.
	for i := 1; i < agent.SuspendAfterRuns; i++ {
		if v := manage(t, withPeer, &mem); !strings.HasPrefix(v, nodeapi.SyncWaiting+": the standby answers without streaming") || syncNames(t, cfg) != SyncNames {
			t.Fatalf("standby down, check %d: %q, names %q", i, v, syncNames(t, cfg))
		}
	}
	if v := manage(t, withPeer, &mem); !strings.HasPrefix(v, nodeapi.SyncSuspended+": the standby does not stream but answers") || syncNames(t, cfg) != "" {
		t.Fatalf("standby down: %q, names %q", v, syncNames(t, cfg))
	}
	if !commits(t, cfg, 2*time.Second) {
		t.Fatal("commits wait for a standby that is down")
	}

	// A standby that streamed and no longer answers at all (a peer that
	// times out): commits wait.
	// A listener that accepts and never answers, as a frozen or cut-off
	// host looks from here.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silent := withPeer
	silent.Peers = []nodeapi.Peer{{Name: "pg-silent", Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}}
	if v := manage(t, silent, &mem); !strings.HasPrefix(v, nodeapi.SyncWaiting+": pg-silent streamed and does not answer") || syncNames(t, cfg) != SyncNames {
		t.Fatalf("silent standby: %q, names %q", v, syncNames(t, cfg))
	}
	if commits(t, cfg, time.Second) {
		t.Fatal("a write committed with no synchronous standby in zero-loss mode")
	}

	// Zero-loss mode off: haup's setting goes, commits go through.
	off := silent
	off.Synchronous = false
	if v := manage(t, off, &mem); v != nodeapi.SyncOff || syncNames(t, cfg) != "" {
		t.Fatalf("mode off: %q, names %q", v, syncNames(t, cfg))
	}
	if !commits(t, cfg, 2*time.Second) {
		t.Fatal("commits wait with zero-loss mode off")
	}
	// An operator's own setting is not haup's to remove.
	if _, err := query(context.Background(), cfg, testPassword, "postgres", "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (other)'"); err != nil {
		t.Fatal(err)
	}
	query(context.Background(), cfg, testPassword, "postgres", "SELECT pg_reload_conf()")
	time.Sleep(200 * time.Millisecond)
	if manage(t, off, &mem); syncNames(t, cfg) != "FIRST 1 (other)" {
		t.Fatalf("the operator's setting was changed: %q", syncNames(t, cfg))
	}
}
