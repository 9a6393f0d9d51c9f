package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/haup-project/haup/nodeapi"
)

// exec runs sql on s as postgres and returns the error.
func (s *server) exec(host, sql string) error {
	pc, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", host, s.port))
	if err != nil {
		return err
	}
	pc.Password = testPassword
	conn, err := pgconn.ConnectConfig(context.Background(), pc)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), sql).ReadAll()
	return err
}

// forkedPair returns an old primary and its promoted standby (timeline 2),
// with a table the old one can still write to.
func forkedPair(t *testing.T) (old, promoted *server) {
	old = newPrimary(t, "")
	if err := old.exec("127.0.0.1", "CREATE TABLE t (id int)"); err != nil {
		t.Fatal(err)
	}
	promoted = newStandby(t, old)
	promoted.run("pg_ctl", "-D", promoted.data(), "-w", "promote")
	return old, promoted
}

func TestStalePrimaryIsMarkedAndFenced(t *testing.T) {
	old, promoted := forkedPair(t)
	cfg := old.config(promoted)
	cfg.FencePath = filepath.Join(t.TempDir(), "fence.json")
	r := check(t, cfg, testPassword)
	if r.Pass || r.Stale == nil || r.Stale.Timeline != 2 {
		t.Fatalf("stale primary: %+v", r)
	}
	if err := old.exec("127.0.0.1", "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("before the fence the old primary takes writes: %v", err)
	}
	// The rejoin unit is started without waiting; when it cannot start,
	// the soft fence and the record must still be in place.
	var started []string
	sys := fakeSystem{systemctl: func(_ context.Context, name string, args ...string) error {
		started = append(started, name+" "+strings.Join(args, " "))
		return errors.New("exit status 1: System has not been booted with systemd")
	}}
	err := Fence(context.Background(), sys, cfg, testPassword, r)
	if err == nil || !strings.Contains(err.Error(), "start "+nodeapi.RejoinUnit+": exit status 1") {
		t.Errorf("fence: %v", err)
	}
	if want := "systemctl start --no-block " + nodeapi.RejoinUnit; len(started) != 1 || started[0] != want {
		t.Errorf("ran %q, want %q", started, want)
	}
	if err := old.exec("127.0.0.1", "INSERT INTO t VALUES (2)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("the fenced primary still takes writes: %v", err)
	}
	rec, err := ReadFence(cfg.FencePath)
	if err != nil || rec == nil || rec.Peer != "peer-0" || rec.PeerTimeline != 2 || rec.Timeline != 1 {
		t.Fatalf("fence record: %+v, %v", rec, err)
	}
	// Even with its peer out of sight, a fenced primary does not pass.
	alone := old.config()
	if r := check(t, alone, testPassword); r.Pass || !strings.Contains(r.Reason, "refuses writes") {
		t.Fatalf("fenced primary alone: %+v", r)
	}
	// The newer primary is untouched.
	if err := promoted.exec("127.0.0.1", "INSERT INTO t VALUES (3)"); err != nil {
		t.Fatalf("the new primary refuses writes: %v", err)
	}
}

// TestFenceVIPHolder: the promoted node does not hold the VIP, which is still
// on the old primary (a cut that VRRP did not see); the promoted node's check
// tells the stale holder to refuse writes. The old primary listens on
// 127.0.0.2, standing for the VIP, on the promoted one's port.
func TestFenceVIPHolder(t *testing.T) {
	old, promoted := forkedPair(t)
	old.stop()
	f, _ := os.OpenFile(filepath.Join(old.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "\nport = %d\nlisten_addresses = '127.0.0.2'\n", promoted.port)
	f.Close()
	h, _ := os.OpenFile(filepath.Join(old.data(), "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	h.WriteString("host all all 127.0.0.0/8 scram-sha-256\n")
	h.Close()
	old.port = promoted.port
	old.start()
	cfg := promoted.config()
	cfg.VIP = "127.0.0.2"
	// A VIP on an older timeline is fenced; ours is not.
	did, err := FenceVIPHolder(context.Background(), cfg, testPassword)
	if err != nil || !strings.Contains(did, "older timeline 1") {
		t.Fatalf("fence VIP holder: %q, %v", did, err)
	}
	if err := old.exec("127.0.0.2", "INSERT INTO t VALUES (1)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("the stale VIP holder still takes writes: %v", err)
	}
	if err := promoted.exec("127.0.0.1", "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatalf("the new primary refuses writes: %v", err)
	}
	// The other way round nothing happens: the old primary never fences a
	// newer one.
	back := nodeapi.Config{Node: "old", Host: "127.0.0.2", Port: old.port, User: "postgres", Database: "postgres", DeadlineMillis: 800, VIP: "127.0.0.1"}
	if did, err := FenceVIPHolder(context.Background(), back, testPassword); did != "" || err != nil {
		t.Fatalf("old primary acted on the newer one: %q, %v", did, err)
	}
	_ = strconv.Itoa
}

// TestBinaryFencesAStalePrimary: keepalived's run of the built program on
// the old primary of a forked pair decides, fences (record, writes
// refused) and says so in one line; it keeps its memory in one record.
func TestBinaryFencesAStalePrimary(t *testing.T) {
	old, promoted := forkedPair(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "haup-check")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/haup-check").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(testPassword+"\n"), 0o600)
	cfg := old.config(promoted)
	cfg.PasswordFile, cfg.FencePath = pw, filepath.Join(dir, "fence.json")
	b, _ := json.Marshal(cfg)
	config := filepath.Join(dir, "check.json")
	os.WriteFile(config, b, 0o644)
	var stderr strings.Builder
	cmd := exec.Command(bin, "-config", config)
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	stale := "haup-check: fail: split brain: peer peer-0 is a primary on newer timeline 2 (ours 1); this primary is stale; "
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.HasPrefix(stderr.String(), stale) {
		t.Fatalf("exit %v, stderr %q", err, stderr.String())
	}
	// No systemd here: the rejoin unit does not start, and says so (with
	// systemctl's output, which may take more than one line).
	if rest := strings.TrimPrefix(stderr.String(), stale); rest != "fenced: writes refused, rejoin started\n" && !strings.HasPrefix(rest, "fencing: start "+nodeapi.RejoinUnit) {
		t.Errorf("the fencing's outcome: %q", rest)
	}
	rec, err := ReadFence(cfg.FencePath)
	if err != nil || rec == nil || rec.Reason != strings.TrimSuffix(strings.TrimPrefix(stale, "haup-check: fail: "), "; ") || rec.PeerTimeline != 2 {
		t.Fatalf("fence record %+v, %v", rec, err)
	}
	if err := old.exec("127.0.0.1", "INSERT INTO t VALUES (2)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("the fenced primary still takes writes: %v", err)
	}
	mem, err := os.ReadFile(cfg.MemoryPath)
	if err != nil || !strings.Contains(string(mem), `"known":{"role":"primary","timeline":1`) || !strings.Contains(string(mem), `"peer-0":{"timeline":2}`) {
		t.Errorf("memory record %s, %v", mem, err)
	}
	if last := ReadState(cfg.StatePath); last == nil || !last.Fenced || last.Stale == nil || last.Pass {
		t.Errorf("last report %+v", last)
	}
}
