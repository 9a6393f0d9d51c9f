package healthcheck

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
	"strings"
	"testing"
	"time"
)

const controlOut = `pg_control version number:            1300
Database cluster state:               in production
Latest checkpoint location:           0/5000060
Latest checkpoint's REDO location:    0/5000028
Latest checkpoint's TimeLineID:       1
Minimum recovery ending location:     0/0
Latest checkpoint's REDO location:    0/5000028
`

func TestParseControl(t *testing.T) {
	c, err := ParseControl(controlOut)
	if err != nil || c != (Control{State: "in production", Timeline: 1, Checkpoint: "0/5000060", MinRecov: "0/0", Redo: "0/5000028"}) || !c.WasPrimary() {
		t.Fatalf("%+v %v", c, err)
	}
	for _, s := range []string{"in archive recovery", "shut down in recovery", "starting up"} {
		if (Control{State: s}).WasPrimary() {
			t.Errorf("%s counted as a primary's", s)
		}
	}
	if _, err := ParseControl("garbage"); err == nil {
		t.Error("garbage parsed")
	}
}

func TestForkPointAndLastRecord(t *testing.T) {
	hist := "1\t0/5000100\tno recovery target specified\n\n2\t0/7000000\tno recovery target specified\n"
	if f, ok := ForkPoint(hist, 1); !ok || f != "0/5000100" {
		t.Errorf("tl 1: %s %v", f, ok)
	}
	if f, ok := ForkPoint(hist, 2); !ok || f != "0/7000000" {
		t.Errorf("tl 2: %s %v", f, ok)
	}
	if _, ok := ForkPoint(hist, 3); ok {
		t.Error("tl 3 found")
	}
	dump := `rmgr: Heap        len (rec/tot):     54/    54, tx:        735, lsn: 0/050000D8, prev 0/050000A0, desc: INSERT off 2
rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: 0/05000110, prev 0/050000D8, desc: COMMIT
pg_waldump: error: error in WAL record at 0/5000110: invalid record length at 0/5000138: wanted 24, got 0`
	if r, ok := LastRecord(dump); !ok || r != "0/05000110" {
		t.Errorf("last record %s %v", r, ok)
	}
	if _, ok := LastRecord("pg_waldump: error: could not find a valid record after 0/5000000"); ok {
		t.Error("no record found one")
	}
}

func TestDecideStart(t *testing.T) {
	env := StartGateEnv{Node: "pg-0", Self: "10.0.0.1", PrimaryHost: "10.0.0.1"}
	primaryTL1 := &Control{State: "in production", Timeline: 1}
	standbyTL1 := &Control{State: "shut down in recovery", Timeline: 1}
	newPrimary := startPeer{Host: "10.0.0.2", Primary: true, Timeline: 2, History: "1\t0/5000100\tno recovery target specified\n"}
	allow := func() (bool, string) { return true, "eligible" }
	refuse := func() (bool, string) { return false, "promotion refused: it was down" }
	cases := []struct {
		name  string
		env   StartGateEnv
		local *Control
		end   string
		peers []startPeer
		lock  bool
		gate  func() (bool, string)
		keep  bool
		wait  bool
		say   string
	}{
		{name: "no data", env: env, gate: allow, say: "no data directory"},
		{name: "old primary past the fork: kept", env: env, local: primaryTL1, end: "0/5000200", peers: []startPeer{newPrimary}, gate: allow, keep: true, say: "goes on past the fork at 0/5000100"},
		{name: "old primary at the fork: nothing to keep", env: env, local: primaryTL1, end: "0/50000C0", peers: []startPeer{newPrimary}, gate: allow, say: "nothing to keep"},
		{name: "old primary, its last record at the fork: kept", env: env, local: primaryTL1, end: "0/5000100", peers: []startPeer{newPrimary}, gate: allow, keep: true},
		{name: "old primary, end unknown: kept", env: env, local: primaryTL1, peers: []startPeer{newPrimary}, gate: allow, keep: true, say: "unknown"},
		{name: "standby past the fork: kept", env: env, local: standbyTL1, end: "0/6000000", peers: []startPeer{newPrimary}, gate: allow, keep: true},
		{name: "standby, end unknown: the image re-syncs", env: env, local: standbyTL1, peers: []startPeer{newPrimary}, gate: allow, say: "re-syncs"},
		{name: "another history: kept", env: env, local: &Control{State: "in production", Timeline: 3}, end: "0/1", peers: []startPeer{{Host: "10.0.0.2", Primary: true, Timeline: 4, History: "1\t0/1\tx\n2\t0/2\tx\n"}}, gate: allow, keep: true, say: "does not come from"},
		{name: "a primary on the same timeline as our primary's data", env: env, local: primaryTL1, peers: []startPeer{{Host: "10.0.0.2", Primary: true, Timeline: 1}}, gate: allow, keep: true},
		{name: "a standby of the primary's timeline", env: env, local: standbyTL1, peers: []startPeer{{Host: "10.0.0.2", Primary: true, Timeline: 1}}, gate: allow, say: "a standby of"},
		{name: "an older primary answers: wait", env: env, local: &Control{State: "in production", Timeline: 2}, peers: []startPeer{{Host: "10.0.0.2", Primary: true, Timeline: 1}}, gate: allow, wait: true, say: "older than this node's data"},
		{name: "no primary, a standby the image would promote, refused", env: env, local: standbyTL1, gate: refuse, wait: true, say: "promotion refused"},
		{name: "no primary, a standby the image would promote, allowed", env: env, local: standbyTL1, gate: allow, say: "allows"},
		{name: "no primary, a standby of another primary host", env: StartGateEnv{Self: "10.0.0.1", PrimaryHost: "10.0.0.2"}, local: standbyTL1, gate: refuse, say: "the image decides"},
		{name: "no primary, its own primary data", env: env, local: primaryTL1, gate: refuse, say: "the image decides"},
		{name: "no primary, a standby with the primary lock", env: env, local: standbyTL1, lock: true, gate: refuse, say: "the image decides"},
		{name: "only standbys answer", env: env, local: primaryTL1, peers: []startPeer{{Host: "10.0.0.2"}}, gate: refuse, say: "the image decides"},
	}
	for _, c := range cases {
		v := DecideStart(c.env, c.local, c.end, c.peers, c.lock, c.gate)
		if v.Keep != c.keep || v.Wait != c.wait || !strings.Contains(v.Reason, c.say) {
			t.Errorf("%s: %+v", c.name, v)
		}
		if v.Keep && (v.Record.Reason == "" || v.Record.Primary != "10.0.0.2") {
			t.Errorf("%s: record %+v", c.name, v.Record)
		}
	}
}

func TestStartGateEnv(t *testing.T) {
	env := map[string]string{"REPMGR_NODE_NAME": "pg-0", "REPMGR_NODE_NETWORK_NAME": "10.0.0.1", "REPMGR_PARTNER_NODES": "10.0.0.1, 10.0.0.2:5433,", "REPMGR_PRIMARY_PORT": "5432", "REPMGR_PASSWORD": "pw"}
	e, err := StartGateEnvFrom(func(k string) string { return env[k] })
	if err != nil || e.User != "repmgr" || e.DB != "repmgr" || e.Port != 5432 || len(e.Partners) != 2 || e.Password != "pw" {
		t.Fatalf("%+v %v", e, err)
	}
	env["REPMGR_PRIMARY_PORT"] = "x"
	if _, err := StartGateEnvFrom(func(k string) string { return env[k] }); err == nil {
		t.Error("a bad port read")
	}
	env["REPMGR_PRIMARY_PORT"], env["REPMGR_PASSWORD_FILE"] = "", "/nonexistent"
	if _, err := StartGateEnvFrom(func(k string) string { return env[k] }); err == nil {
		t.Error("a missing password file read")
	}
}

// TestWALEndOfACrashedPrimary: readLocal finds the last record of a
// primary stopped without a checkpoint, several segments past its last
// checkpoint's redo (pg_waldump given only a segment file reads that one).
func TestWALEndOfACrashedPrimary(t *testing.T) {
	s := newPrimary(t, "")
	s.run("psql", "-h", s.dir, "-p", strconv.Itoa(s.port), "-U", "postgres", "-d", "postgres", "-qc", "CHECKPOINT",
		"-c", "CREATE TABLE t AS SELECT g, repeat('x', 200) FROM generate_series(1, 150000) g")
	want := strings.TrimSpace(s.run("psql", "-h", s.dir, "-p", strconv.Itoa(s.port), "-U", "postgres", "-d", "postgres", "-tAc", "SELECT pg_current_wal_insert_lsn()"))
	s.stop()
	c, end, err := readLocal(context.Background(), pgBin, s.data())
	if err != nil || c == nil || !c.WasPrimary() {
		t.Fatalf("%+v %v", c, err)
	}
	e, ok1 := agent.ParseLSN(end)
	redo, ok2 := agent.ParseLSN(c.Redo)
	w, ok3 := agent.ParseLSN(want)
	if !ok1 || !ok2 || !ok3 || e < redo+32<<20 || e >= w {
		t.Fatalf("last record %s, redo %s, insert position %s", end, c.Redo, want)
	}
}

// TestKeptCommits: the record of kept data lists the transactions its WAL
// commits past the fork, read with pg_waldump from the real WAL of a
// primary stopped without a checkpoint: those before the fork are not
// listed, the count is of all, the list keeps the latest; a fork whose WAL
// was recycled is read from the last checkpoint's redo, said incomplete.
func TestKeptCommits(t *testing.T) {
	s := newPrimary(t, "")
	psql := func(args ...string) string {
		return strings.TrimSpace(s.run("psql", append([]string{"-h", s.dir, "-p", strconv.Itoa(s.port), "-U", "postgres", "-d", "postgres", "-tAq"}, args...)...))
	}
	psql("-c", "CREATE TABLE t (i int)", "-c", "INSERT INTO t VALUES (0)")
	fork := psql("-c", "SELECT pg_current_wal_insert_lsn()")
	for i := 1; i <= 5; i++ {
		psql("-c", fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}
	last := psql("-c", "INSERT INTO t VALUES (6) RETURNING txid_current()::text")
	s.stop()
	c, _, err := readLocal(context.Background(), pgBin, s.data())
	if err != nil || c == nil {
		t.Fatalf("%+v %v", c, err)
	}
	rec := nodeapi.KeptRecord{Timeline: c.Timeline, ForkLSN: fork}
	readCommits(context.Background(), pgBin, s.data(), c, &rec)
	if rec.CommitCount != 6 || len(rec.Commits) != 6 || !rec.CommitsComplete || rec.CommitsFrom != fork {
		t.Fatalf("commits past %s: %+v", fork, rec)
	}
	if got := strconv.FormatUint(rec.Commits[5].XID, 10); !strings.HasPrefix(last, got) && last != got {
		t.Errorf("last commit xid %s, want %s", got, last)
	}
	if ts := rec.Commits[0].Time; !strings.HasPrefix(ts, time.Now().UTC().Format("2006-")) {
		t.Errorf("commit time %q", ts)
	}

	// The list keeps the latest; the count is of all.
	out, _ := exec.Command(filepath.Join(pgBin, "pg_waldump"), "--path", filepath.Join(s.data(), "pg_wal"), "--start", fork, "--rmgr", "Transaction").Output()
	got, n := ParseCommits(strings.NewReader(string(out)), 0, 2)
	if n != 6 || len(got) != 2 || got[1] != rec.Commits[5] {
		t.Errorf("bounded: %d commits, kept %+v", n, got)
	}

	// A fork before the oldest WAL: read from the redo, incomplete.
	gone := nodeapi.KeptRecord{Timeline: c.Timeline, ForkLSN: "0/10"}
	readCommits(context.Background(), pgBin, s.data(), c, &gone)
	if gone.CommitsComplete || gone.CommitsFrom != c.Redo {
		t.Errorf("a recycled fork: %+v", gone)
	}
}
