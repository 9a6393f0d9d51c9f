package healthcheck

import (
	"net"
	"strings"
	"testing"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
)

// silent is an address that accepts TCP connections and never answers, as a
// host behind a partition (or a frozen database) looks to a client: every
// attempt times out.
func silent(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// A primary that sees neither its peer nor the witness fails at once,
// refuses writes from the second isolated check, and takes writes again once
// its peer answers as a standby; a witness that only refuses connections is
// seen (its host is there).
func TestIsolatedPrimaryStepsDownAndBack(t *testing.T) {
	p := newPrimary(t, "")
	if err := p.exec("127.0.0.1", "CREATE TABLE t (id int)"); err != nil {
		t.Fatal(err)
	}
	s := newStandby(t, p)
	cfg := p.config()
	cfg.DeadlineMillis = 300
	cfg.Peers = []nodeapi.Peer{{Name: "pg-peer", Host: "127.0.0.1", Port: silent(t)}}
	cfg.Witness = &nodeapi.Peer{Name: "wit-9", Host: "127.0.0.1", Port: silent(t)}
	var mem agent.Memory
	step := func() nodeapi.Report {
		t.Helper()
		r, _ := agentRun(t, cfg, &mem)
		return r
	}
	insert := func() error { return p.exec("127.0.0.1", "INSERT INTO t VALUES (1)") }

	r := step()
	if r.Pass || !r.Isolated || r.Witness == nil || r.Witness.Error == "" {
		t.Fatalf("first isolated check: %+v", r)
	}
	if err := insert(); err != nil {
		t.Fatalf("one isolated check already refuses writes: %v", err)
	}
	if rec := mem.Isolation; rec == nil || rec.Checks != 1 || rec.Fenced {
		t.Fatalf("record after one check: %+v", mem.Isolation)
	}
	r = step()
	if r.Pass || !r.Isolated || !strings.Contains(r.Reason, "writes refused since") {
		t.Fatalf("second isolated check: %+v", r)
	}
	if err := insert(); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("after two isolated checks, a write: %v", err)
	}

	// A witness whose port refuses is still not seen: its vote is its
	// database.
	cfg.Witness.Port = freePort(t)
	if r := step(); !r.Isolated {
		t.Fatalf("witness refusing connections counted as seen: %+v", r)
	}
	// The witness's database answers again (any PostgreSQL does for the
	// check): not isolated, but the standby may have been promoted
	// meanwhile, so writes stay refused.
	cfg.Witness.Port = s.port
	r = step()
	if r.Pass || r.Isolated || !strings.Contains(r.Reason, "come back once a peer answers as a standby") {
		t.Fatalf("witness back, peer still silent: %+v", r)
	}
	if err := insert(); err == nil {
		t.Fatal("writes allowed again with only the witness back")
	}

	// The peer answers as a standby: writes come back, the record goes.
	cfg.Peers[0].Port = s.port
	r = step()
	if !strings.Contains(r.Reason, "writes allowed again") {
		t.Fatalf("peer back as a standby: %+v", r)
	}
	if rec := mem.Isolation; rec != nil {
		t.Errorf("isolation record left: %+v", rec)
	}
	if err := insert(); err != nil {
		t.Fatalf("writes after the isolation ended: %v", err)
	}
	if r := check(t, cfg, testPassword); !r.Pass {
		t.Errorf("the next check: %+v", r)
	}

	// A peer whose host refuses (its database down, a standby being
	// cloned) is seen: the witness silent too is no partition.
	cfg.Peers[0].Port = freePort(t)
	cfg.Witness.Port = silent(t)
	if r := step(); !r.Pass || r.Isolated {
		t.Errorf("peer refusing, witness silent: %+v", r)
	}

	// Without a witness the rule is off: a primary alone keeps passing.
	cfg.Witness = nil
	cfg.Peers[0].Port = silent(t)
	if r := step(); !r.Pass || r.Isolated {
		t.Errorf("no witness, peer silent: %+v", r)
	}
}
