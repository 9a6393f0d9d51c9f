package healthcheck

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
	"github.com/jackc/pgx/v5/pgconn"
)

const pgBin = "/usr/lib/postgresql/15/bin"

const testPassword = "check-test-pw"

// server is a real PostgreSQL server run by the tests as the postgres user.
type server struct {
	t    *testing.T
	dir  string
	port int
	cred *syscall.Credential
}

func needPostgres(t *testing.T) *syscall.Credential {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: hermetic tests only (this one runs PostgreSQL)")
	}
	skip := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		skip("these tests need root, to run PostgreSQL as the postgres user")
	}
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		skip("these tests need postgresql-15")
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		skip("no postgres user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *server) run(name string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(pgBin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Env = append(os.Environ(), "PGPASSWORD="+testPassword)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func tempDir(t *testing.T, cred *syscall.Credential) string {
	dir, err := os.MkdirTemp("", "haup-check-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chown(dir, int(cred.Uid), int(cred.Gid))
	os.Chmod(dir, 0o700)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// newPrimary starts a fresh primary with password auth on loopback.
func newPrimary(t *testing.T, extraConf string) *server {
	cred := needPostgres(t)
	s := &server{t: t, dir: tempDir(t, cred), port: freePort(t), cred: cred}
	pwfile := filepath.Join(s.dir, "pw")
	os.WriteFile(pwfile, []byte(testPassword), 0o600)
	os.Chown(pwfile, int(cred.Uid), int(cred.Gid))
	data := filepath.Join(s.dir, "data")
	s.run("initdb", "-D", data, "-U", "postgres", "--pwfile", pwfile, "-A", "scram-sha-256", "--no-sync")
	hba := "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n"
	os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600)
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nwal_level = replica\nfsync = off\n%s\n", s.port, s.dir, extraConf)
	f, _ := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(conf)
	f.Close()
	s.start()
	return s
}

func (s *server) data() string { return filepath.Join(s.dir, "data") }

func (s *server) start() {
	s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "log"), "-w", "-t", "30", "start")
	s.t.Cleanup(s.stop)
}

func (s *server) stop() {
	cmd := exec.Command(filepath.Join(pgBin, "pg_ctl"), "-D", s.data(), "-m", "immediate", "-w", "stop")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Run()
}

// newStandby clones a streaming standby of primary.
func newStandby(t *testing.T, primary *server) *server {
	s := &server{t: t, dir: tempDir(t, primary.cred), port: freePort(t), cred: primary.cred}
	s.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres", "-D", s.data(), "-R", "-X", "stream")
	f, _ := os.OpenFile(filepath.Join(s.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "\nport = %d\nunix_socket_directories = '%s'\n", s.port, s.dir)
	f.Close()
	s.start()
	return s
}

func (s *server) pid() int {
	b, err := os.ReadFile(filepath.Join(s.data(), "postmaster.pid"))
	if err != nil {
		s.t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	return pid
}

func (s *server) config(peers ...*server) nodeapi.Config {
	c := nodeapi.Config{Node: "pg-test", Host: "127.0.0.1", Port: s.port, User: "postgres", Database: "postgres", DeadlineMillis: 800,
		PeerSeenPath: filepath.Join(s.dir, "peer-timelines.json"), MemoryPath: filepath.Join(s.dir, "agent.json"),
		PrecedencePath: filepath.Join(s.dir, "precedence"), StatePath: filepath.Join(s.dir, "check-last.json"),
		SyncStatePath: filepath.Join(s.dir, "sync.json"), IsolationPath: filepath.Join(s.dir, "isolation.json"),
		PortFencePath: filepath.Join(s.dir, "port-closed.json")}
	for i, p := range peers {
		c.Peers = append(c.Peers, nodeapi.Peer{Name: fmt.Sprintf("peer-%d", i), Host: "127.0.0.1", Port: p.port})
	}
	return c
}

func check(t *testing.T, cfg nodeapi.Config, password string) nodeapi.Report {
	t.Helper()
	r := Run(context.Background(), cfg, password)
	t.Logf("%s: pass=%v role=%s tl=%d reason=%q in %.1f ms", t.Name(), r.Pass, r.Role, r.Timeline, r.Reason, r.LatencyMS)
	return r
}

func TestPrimaryPassesStandbyFails(t *testing.T) {
	p := newPrimary(t, "")
	s := newStandby(t, p)
	if r := check(t, p.config(s), testPassword); !r.Pass || r.Role != nodeapi.RolePrimary || r.Timeline != 1 {
		t.Errorf("primary: %+v", r)
	}
	r := check(t, s.config(p), testPassword)
	if r.Pass || r.Role != nodeapi.RoleStandby || !strings.Contains(r.Reason, "standby") {
		t.Errorf("standby: %+v", r)
	}
}

func TestStoppedServerFailsFast(t *testing.T) {
	p := newPrimary(t, "")
	p.stop()
	r := check(t, p.config(), testPassword)
	if r.Pass || r.Role != nodeapi.RoleDown || !strings.Contains(r.Reason, "refused") {
		t.Errorf("stopped: %+v", r)
	}
}

func TestFrozenServerFailsWithinDeadline(t *testing.T) {
	p := newPrimary(t, "")
	pid := p.pid()
	syscall.Kill(pid, syscall.SIGSTOP)
	defer syscall.Kill(pid, syscall.SIGCONT)
	cfg := p.config()
	start := time.Now()
	r := check(t, cfg, testPassword)
	elapsed := time.Since(start)
	if r.Pass || !strings.Contains(r.Reason, "timed out") {
		t.Errorf("frozen: %+v", r)
	}
	if limit := time.Duration(cfg.DeadlineMillis)*time.Millisecond + 200*time.Millisecond; elapsed > limit {
		t.Errorf("frozen server: check took %s, deadline %d ms", elapsed, cfg.DeadlineMillis)
	}
}

func TestWrongPasswordFails(t *testing.T) {
	p := newPrimary(t, "")
	r := check(t, p.config(), "wrong")
	if r.Pass || !strings.Contains(r.Reason, "password authentication failed") {
		t.Errorf("wrong password: %+v", r)
	}
}

// TestBusyPrimaryStillPasses exhausts max_connections with ordinary clients:
// the check, as superuser, gets one of the reserved slots.
func TestBusyPrimaryStillPasses(t *testing.T) {
	p := newPrimary(t, "max_connections = 5\nsuperuser_reserved_connections = 2\n")
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=%s dbname=postgres sslmode=disable", p.port, testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "CREATE ROLE app LOGIN PASSWORD 'app'").Close(); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	var clients []*pgconn.PgConn
	defer func() {
		for _, c := range clients {
			c.Close(ctx)
		}
	}()
	for {
		c, err := pgconn.Connect(ctx, fmt.Sprintf("host=127.0.0.1 port=%d user=app password=app dbname=postgres sslmode=disable", p.port))
		if err != nil {
			if !strings.Contains(err.Error(), "remaining connection slots") {
				t.Fatalf("unexpected error filling the server: %v", err)
			}
			break
		}
		clients = append(clients, c)
	}
	t.Logf("%d ordinary clients fill the server", len(clients))
	if r := check(t, p.config(), testPassword); !r.Pass {
		t.Errorf("busy primary: %+v", r)
	}
}

// TestSplitBrainOnlyPromotedPasses promotes a standby while its old primary
// keeps running: both answer pg_is_in_recovery() = false, and only the one
// on the newer timeline may hold the VIP.
func TestSplitBrainOnlyPromotedPasses(t *testing.T) {
	old := newPrimary(t, "")
	promoted := newStandby(t, old)
	promoted.run("pg_ctl", "-D", promoted.data(), "-w", "promote")
	rNew := check(t, promoted.config(old), testPassword)
	rOld := check(t, old.config(promoted), testPassword)
	if !rNew.Pass || rNew.Timeline != 2 {
		t.Errorf("promoted: %+v", rNew)
	}
	if rOld.Pass || !strings.Contains(rOld.Reason, "newer timeline 2") {
		t.Errorf("old primary: %+v", rOld)
	}
}

// TestUnreachablePeerDoesNotBlock: a promoted standby whose old primary is
// gone (its node is dead) must pass.
func TestUnreachablePeerDoesNotBlock(t *testing.T) {
	p := newPrimary(t, "")
	cfg := p.config()
	cfg.Peers = []nodeapi.Peer{{Name: "dead", Host: "127.0.0.1", Port: freePort(t)}}
	r := check(t, cfg, testPassword)
	if !r.Pass || r.Peers[0].Error == "" {
		t.Errorf("unreachable peer: %+v", r)
	}
}

func TestTwoPrimariesSameTimelineNeitherPasses(t *testing.T) {
	a := newPrimary(t, "")
	b := newPrimary(t, "")
	if r := check(t, a.config(b), testPassword); r.Pass {
		t.Errorf("a passed beside another timeline-1 primary: %+v", r)
	}
}

// TestBinary runs the built program as keepalived does: exit status and one
// line on stderr.
func TestBinary(t *testing.T) {
	p := newPrimary(t, "")
	s := newStandby(t, p)
	dir := t.TempDir()
	bin := filepath.Join(dir, "haup-check")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/haup-check").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(testPassword+"\n"), 0o600)
	for _, tc := range []struct {
		srv   *server
		code  int
		state string
	}{{p, 0, `"pass":true`}, {s, 1, `"role":"standby"`}} {
		cfg := filepath.Join(dir, "check.json")
		state := filepath.Join(dir, "run", "last.json")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`{"node":"n","host":"127.0.0.1","port":%d,"user":"postgres","password_file":%q,"deadline_ms":800,"state_path":%q,"memory_path":%q,"precedence_path":%q}`,
			tc.srv.port, pw, state, filepath.Join(dir, "agent.json"), filepath.Join(dir, "precedence"))), 0o644)
		cmd := exec.Command(bin, "-config", cfg)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != tc.code {
			t.Errorf("exit %d, want %d (%s)", code, tc.code, stderr.String())
		}
		if tc.code != 0 && strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("failure should print one line, got %q", stderr.String())
		}
		if b, _ := os.ReadFile(state); !strings.Contains(string(b), tc.state) {
			t.Errorf("state file %s lacks %s: %s", state, tc.state, b)
		}
	}
}

// TestPromotedPrimaryDoesNotWaitForAnOlderPeer: a promoted standby whose
// peer was last seen on an older timeline passes without waiting out the
// deadline for a peer that does not answer (a frozen or powered-off old
// primary); a peer never seen, or last seen on this timeline, is waited for.
func TestPromotedPrimaryDoesNotWaitForAnOlderPeer(t *testing.T) {
	p := newPrimary(t, "")
	s := newStandby(t, p)
	p.stop()
	if err := s.exec("127.0.0.1", "SELECT pg_promote(true, 30)"); err != nil {
		t.Fatal(err)
	}
	cfg := s.config()
	cfg.Peers = []nodeapi.Peer{{Name: "pg-old", Host: "127.0.0.1", Port: silent(t)}}
	for _, c := range []struct {
		name   string
		seen   map[string]agent.PeerMemory
		waited bool
	}{
		{"last seen on an older timeline, silent since", map[string]agent.PeerMemory{"pg-old": {Timeline: 1, Silent: true}}, false},
		{"last seen on an older timeline, answered at the last check", map[string]agent.PeerMemory{"pg-old": {Timeline: 1}}, true},
		{"never seen", map[string]agent.PeerMemory{}, true},
		{"last seen on this timeline", map[string]agent.PeerMemory{"pg-old": {Timeline: 2, Silent: true}}, true},
		{"no record", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := RunRecalling(context.Background(), cfg, testPassword, agent.Memory{Version: agent.MemoryVersion, Peers: c.seen})
			t.Logf("pass=%v reason=%q in %.1f ms", r.Pass, r.Reason, r.LatencyMS)
			if !r.Pass || r.Timeline != 2 {
				t.Fatalf("promoted standby: %+v", r)
			}
			waited := r.LatencyMS >= float64(cfg.DeadlineMillis)*0.9
			if waited != c.waited {
				t.Errorf("waited out the deadline: %v, want %v (%.0f ms; peer: %+v)", waited, c.waited, r.LatencyMS, r.Peers[0])
			}
			if !c.waited && !strings.Contains(r.Peers[0].Error, "no answer within 50ms (last seen on timeline 1") {
				t.Errorf("peer: %+v", r.Peers[0])
			}
			// A silent peer not judged by its older timeline is
			// unsettled (see agent.Decide's second look).
			if u := r.Unsettled(); (len(u) == 1) != c.waited {
				t.Errorf("unsettled %v, want the peer unsettled: %v", u, c.waited)
			}
		})
	}
}

func TestSSLParams(t *testing.T) {
	if got := sslParams("", false); got != "sslmode=disable" {
		t.Errorf("no CA: %q", got)
	}
	if got := sslParams("/etc/haup/tls/ca.crt", false); got != "sslmode=verify-full sslrootcert='/etc/haup/tls/ca.crt'" {
		t.Errorf("peer: %q", got)
	}
	if got := sslParams(`/a b/it's\ca.crt`, true); got != `sslmode=verify-ca sslrootcert='/a b/it\'s\\ca.crt'` {
		t.Errorf("local, quoted: %q", got)
	}
}
