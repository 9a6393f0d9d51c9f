package healthcheck

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestFaultsAreTyped: driver errors are typed where they are met, with the
// same messages as before.
func TestFaultsAreTyped(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := nodeapi.Config{Node: "pg-0", Host: "127.0.0.1", Port: closed, User: "postgres", DeadlineMillis: 300,
		Peers: []nodeapi.Peer{{Name: "pg-1", Host: "127.0.0.1", Port: closed}}}
	r := Run(context.Background(), cfg, "pw")
	if r.LocalFault != agent.FaultRefused || r.Reason != "local database: connection refused" || r.LocalError != "connection refused" {
		t.Errorf("refused: %q %q", r.LocalFault, r.Reason)
	}
	if p := r.Peers[0]; p.Error == "" || p.Fault == agent.FaultNone {
		t.Errorf("peer: %+v", p)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		err  error
		code agent.Fault
		msg  string
	}{
		{context.DeadlineExceeded, agent.FaultTimeout, "timed out"},
		{&pgconn.PgError{Code: "28P01", Message: `password authentication failed for user "postgres"`}, agent.FaultAuth, `password authentication failed for user "postgres" (SQLSTATE 28P01)`},
		{&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, agent.FaultServer, "the database system is starting up (SQLSTATE 57P03)"},
		{errors.New("dial tcp 10.0.0.1:5432: connect: connection refused"), agent.FaultRefused, "connection refused"},
		{errors.New("dial tcp: lookup pg-9: no such host"), agent.FaultOther, "dial tcp: lookup pg-9: no such host"},
	} {
		err := describe(context.Background(), c.err)
		if FaultOf(err) != c.code || err.Error() != c.msg || !FaultOf(err).Answered() != (c.code == agent.FaultTimeout || c.code == agent.FaultOther) {
			t.Errorf("%v: %q %q", c.err, FaultOf(err), err)
		}
	}
	if err := describe(ctx, errors.New("x")); FaultOf(err) != agent.FaultTimeout {
		t.Errorf("a context ended: %q", FaultOf(err))
	}
	if FaultOf(nil) != agent.FaultNone || FaultOf(os.ErrClosed) != agent.FaultOther {
		t.Error("FaultOf")
	}
}

// TestMemoryFile: the record is read, migrated once from the earlier
// agent's files, written only when it changed, and an unreadable one is
// left as it is.
func TestMemoryFile(t *testing.T) {
	dir := t.TempDir()
	cfg := nodeapi.Config{MemoryPath: filepath.Join(dir, "agent.json"), StatePath: filepath.Join(dir, "last.json"),
		PeerSeenPath: filepath.Join(dir, "seen.json"), SyncStatePath: filepath.Join(dir, "sync.json"), IsolationPath: filepath.Join(dir, "isolation.json")}
	m, migrated := LoadMemory(cfg, "b")
	if migrated || !m.Equal(agent.Memory{Version: 1, Boot: "b"}) || m.Problem != "" {
		t.Fatalf("nothing there: %+v %v", m, migrated)
	}
	os.WriteFile(cfg.IsolationPath, []byte(`{"checks":1}`), 0o600)
	os.Mkdir(cfg.SyncStatePath, 0o700) // unreadable: a directory
	m, migrated = LoadMemory(cfg, "b")
	if !migrated || m.Isolation == nil || m.Isolation.Checks != 1 || m.Sync != nil {
		t.Fatalf("migrated: %+v %v", m, migrated)
	}
	if err := SaveMemory(cfg, m, m, migrated); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.IsolationPath); err == nil {
		t.Error("the earlier agent's file is left")
	}
	again, migrated := LoadMemory(cfg, "b")
	if migrated || !again.Equal(m) {
		t.Fatalf("read back: %+v %v", again, migrated)
	}
	st, _ := os.Stat(cfg.MemoryPath)
	time.Sleep(10 * time.Millisecond)
	SaveMemory(cfg, again, m, false)
	if st2, _ := os.Stat(cfg.MemoryPath); !os.SameFile(st, st2) {
		t.Error("an unchanged record was written")
	}
	os.WriteFile(cfg.MemoryPath, []byte("{"), 0o600)
	if m, _ := LoadMemory(cfg, "b"); m.Problem == "" {
		t.Error("an unreadable record read")
	}
	os.Remove(cfg.MemoryPath)
	os.Mkdir(cfg.MemoryPath, 0o700)
	if m, _ := LoadMemory(cfg, "b"); m.Problem == "" {
		t.Error("a record that is a directory read")
	}
}
