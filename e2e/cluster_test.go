// Package e2e runs haup, as a user would, against real nodes of the lab:
// systemd-nspawn machines with sshd, Docker, apt and keepalived, on a private
// bridge. It needs root; see README.md.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/haup-project/haup/internal/testenv"
)

const (
	vip      = "10.77.0.100"
	dbPort   = 5432
	labNodes = 2
)

// repoRoot is the checkout the tests run in; the lab keeps its state in
// repoRoot/.lab.
var repoRoot, _ = filepath.Abs("..")

// haupBin is the haup binary built once for all tests, with the health check
// embedded.
var (
	buildOnce sync.Once
	haupBin   string
	buildErr  error
)

func needRoot(t testing.TB) { testenv.Need(t, true, "systemd-nspawn", "docker") }

// build compiles haup the way `make build` does, into a temporary directory.
func build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "haup-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("make", "-s", "build", "BIN="+dir)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			buildErr = fmt.Errorf("make build: %v\n%s", err, out)
			return
		}
		haupBin = filepath.Join(dir, "haup")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return haupBin
}

// result is one run of haup.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// haup runs the haup binary in the repository root.
func haup(t testing.TB, args ...string) result {
	t.Helper()
	cmd := exec.Command(build(t), args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("haup %v: %v", args, err)
	}
	return r
}

// mustHaup runs haup and fails the test unless it exits with want.
func mustHaup(t testing.TB, want int, args ...string) result {
	t.Helper()
	r := haup(t, args...)
	if r.code != want {
		t.Fatalf("haup %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// onNode runs a shell command inside a lab node (through the lab, not SSH).
func onNode(t testing.TB, node, script string) (string, error) {
	t.Helper()
	r := haup(t, "lab", "exec", node, "--", "sh", "-c", script)
	if r.code != 0 {
		return r.stdout, fmt.Errorf("%s: %q exited %d: %s", node, script, r.code, r.stderr)
	}
	return r.stdout, nil
}

func mustOnNode(t testing.TB, node, script string) string {
	t.Helper()
	out, err := onNode(t, node, script)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// pgIn runs a PostgreSQL client program in a node's database container as
// the postgres superuser, over TCP with the password (the bitnami image's
// pg_hba asks every connection for one); the password stays in the
// container's environment, out of any command line.
const pgIn = `docker exec pg sh -c 'PGPASSWORD=$(cat /run/secrets/haup/postgres-password) PGHOST=127.0.0.1 PGUSER=postgres PGPORT=$POSTGRESQL_PORT_NUMBER exec "$@"' sh `

// pgInDetached is pgIn for a program left running in the background.
const pgInDetached = `docker exec -d pg sh -c 'PGPASSWORD=$(cat /run/secrets/haup/postgres-password) PGHOST=127.0.0.1 PGUSER=postgres PGPORT=$POSTGRESQL_PORT_NUMBER exec "$@"' sh `

func nodeName(i int) string     { return fmt.Sprintf("pg-%d", i) }
func nodeNS(node string) string { return "haup-" + node }

// vipHolders lists the nodes whose interface carries the VIP, read straight
// from each node's network namespace (cheap enough to sample every 100 ms).
func vipHolders() []string {
	var out []string
	for i := 0; i < labNodes; i++ {
		n := nodeName(i)
		b, err := exec.Command("ip", "netns", "exec", nodeNS(n), "ip", "-o", "-4", "addr", "show").Output()
		if err == nil && bytes.Contains(b, []byte(" "+vip+"/")) {
			out = append(out, n)
		}
	}
	return out
}

// waitVIP waits until exactly node holds the VIP and returns how long it took.
func waitVIP(t testing.TB, node string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		h := vipHolders()
		if len(h) == 1 && h[0] == node {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the VIP is not on %s after %s (holders: %v)", node, timeout, vipHolders())
	return 0
}

// sampler records, every 100 ms, how many nodes hold the VIP.
type sampler struct {
	mu   sync.Mutex
	dual time.Duration
	// unheld is the time no node held the VIP.
	unheld   time.Duration
	samples  int
	cancel   context.CancelFunc
	finished chan struct{}
}

func sampleVIP() *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{cancel: cancel, finished: make(chan struct{})}
	go func() {
		defer close(s.finished)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				n := len(vipHolders())
				if n != 1 {
					// The nodes are read one after the other: a handover
					// between the two reads (in VRRP preemption the new
					// master adds the VIP a few ms before the old one,
					// hearing it, drops it) looks like two holders, or
					// none. A second look right away must agree.
					n = len(vipHolders())
				}
				s.mu.Lock()
				s.samples++
				switch {
				case n > 1:
					s.dual += 100 * time.Millisecond
				case n == 0:
					s.unheld += 100 * time.Millisecond
				}
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// unheldTime is the time sampled so far with no VIP holder.
func (s *sampler) unheldTime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unheld
}

// stop ends sampling and returns the time with two VIP holders.
func (s *sampler) stop() (time.Duration, int) {
	s.cancel()
	<-s.finished
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dual, s.samples
}

func labPath(p string) string { return filepath.Join(repoRoot, ".lab", p) }

func postgresPassword(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(labPath("secrets/postgres-password"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// connect opens a session to host as postgres, failing within timeout.
func connect(ctx context.Context, t testing.TB, host string, timeout time.Duration) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=%d",
		host, dbPort, max(1, int(timeout.Seconds()))))
	if err != nil {
		return nil, err
	}
	cfg.Password = postgresPassword(t)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	// During a password rotation a client knows both passwords.
	if alt, _ := altPassword.Load().(string); err != nil && alt != "" && strings.Contains(err.Error(), "password authentication failed") {
		cfg.Password = alt
		return pgx.ConnectConfig(cctx, cfg)
	}
	return conn, err
}

// altPassword is the other password a client tries during a rotation.
var altPassword atomic.Value

// writeThroughVIP inserts one row through the VIP and returns its id.
func writeThroughVIP(ctx context.Context, t testing.TB, note string) (int64, error) {
	conn, err := connect(ctx, t, vip, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := conn.Exec(wctx, `CREATE TABLE IF NOT EXISTS haup_e2e (id bigserial PRIMARY KEY, note text, at timestamptz DEFAULT now())`); err != nil {
		return 0, err
	}
	var id int64
	err = conn.QueryRow(wctx, `INSERT INTO haup_e2e (note) VALUES ($1) RETURNING id`, note).Scan(&id)
	return id, err
}

// waitWrite retries writes through the VIP until one succeeds.
func waitWrite(ctx context.Context, t testing.TB, note string, timeout time.Duration) (int64, time.Duration) {
	t.Helper()
	start := time.Now()
	var last error
	for time.Since(start) < timeout {
		id, err := writeThroughVIP(ctx, t, note)
		if err == nil {
			return id, time.Since(start)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no write through the VIP succeeded within %s: %v", timeout, last)
	return 0, 0
}

// waitReplicated waits until row id is visible on the database of node.
func waitReplicated(ctx context.Context, t testing.TB, nodeAddr string, id int64, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	var last error
	for time.Since(start) < timeout {
		conn, err := connect(ctx, t, nodeAddr, 2*time.Second)
		if err == nil {
			var n int
			err = conn.QueryRow(ctx, `SELECT count(*) FROM haup_e2e WHERE id = $1`, id).Scan(&n)
			conn.Close(ctx)
			if err == nil && n == 1 {
				return
			}
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("row %d did not reach %s within %s (last error: %v)", id, nodeAddr, timeout, last)
}

func nodeAddr(node string) string {
	var i int
	fmt.Sscanf(node, "pg-%d", &i)
	return fmt.Sprintf("10.77.0.%d", 11+i)
}

// role asks the health check installed on node for its database role.
func role(t testing.TB, node string) string {
	out, _ := onNode(t, node, "/usr/local/libexec/haup/haup-check -json 2>/dev/null || true")
	i := strings.Index(out, `"role":`)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(out[i+len(`"role":`):], ` "`)
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

func waitRole(t testing.TB, node, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if role(t, node) == want {
			return time.Since(start)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s did not become %s within %s (now %q)", node, want, timeout, role(t, node))
	return 0
}

func vrrpState(t testing.TB, node string) string {
	out, _ := onNode(t, node, "cat /run/haup/vrrp-state 2>/dev/null || true")
	f := strings.Fields(out)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// planLines returns the change lines of a plan printed by diff or apply.
func planLines(stdout string) []string {
	var out []string
	node := ""
	for _, l := range strings.Split(stdout, "\n") {
		if l != "" && !strings.HasPrefix(l, " ") && strings.HasSuffix(l, ")") {
			node = strings.Fields(l)[0]
		}
		for _, p := range []string{"  + ", "  ~ ", "  -/+ "} {
			if strings.HasPrefix(l, p) {
				out = append(out, node+": "+strings.TrimSpace(l))
			}
		}
	}
	return out
}
