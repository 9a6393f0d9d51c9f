// Package labimage tests the lab database image: two containers on an
// internal Docker network (no NAT, no route out) with real repmgr.
package labimage

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/benchout"
	"github.com/haup-project/haup/internal/testenv"
)

const (
	image   = "haup-lab/postgresql-repmgr:15"
	network = "haup-labimage-test"
	subnet  = "172.31.77"
)

// Short failover timings keep the test fast: attempts x interval = 4 s.
const attempts, interval = 2, 2

func need(t testing.TB) { testenv.Need(t, true, "docker", "debootstrap") }

func sh(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// cluster is two containers of the image, pg-0 the initial primary.
type cluster struct {
	t       testing.TB
	secrets string
}

func newCluster(t testing.TB) *cluster {
	need(t)
	sh(t, "../scripts/host-dockerd.sh")
	sh(t, "./build.sh")
	c := &cluster{t: t, secrets: t.TempDir()}
	for _, s := range []string{"pg", "rm"} {
		p := filepath.Join(c.secrets, s)
		os.WriteFile(p, []byte("pw-"+s+"-test"), 0o600)
		os.Chown(p, 1001, 1001)
	}
	c.cleanup()
	sh(t, "docker", "network", "create", "--internal", "--subnet", subnet+".0/24", network)
	t.Cleanup(c.cleanup)
	return c
}

func (c *cluster) cleanup() {
	exec.Command("docker", "rm", "-f", "labimg-0", "labimg-1").Run()
	exec.Command("docker", "network", "rm", network).Run()
}

func ip(i int) string { return fmt.Sprintf("%s.%d", subnet, 10+i) }

func (c *cluster) run(i int) {
	c.t.Helper()
	sh(c.t, "docker", "run", "-d", "--name", fmt.Sprintf("labimg-%d", i), "--network", network, "--ip", ip(i),
		"-v", filepath.Join(c.secrets, "pg")+":/run/secrets/pg:ro",
		"-v", filepath.Join(c.secrets, "rm")+":/run/secrets/rm:ro",
		"-e", "POSTGRESQL_PASSWORD_FILE=/run/secrets/pg", "-e", "REPMGR_PASSWORD_FILE=/run/secrets/rm",
		"-e", fmt.Sprintf("REPMGR_NODE_NAME=pg-%d", i), "-e", "REPMGR_NODE_NETWORK_NAME="+ip(i),
		"-e", "REPMGR_PARTNER_NODES="+ip(0)+","+ip(1), "-e", "REPMGR_PRIMARY_HOST="+ip(0),
		"-e", fmt.Sprintf("REPMGR_RECONNECT_ATTEMPTS=%d", attempts), "-e", fmt.Sprintf("REPMGR_RECONNECT_INTERVAL=%d", interval),
		"-e", "REPMGR_CONNECT_TIMEOUT=2", image)
}

// sql runs a statement in container i through its local socket.
func (c *cluster) sql(i int, q string) (string, error) {
	db := "postgres"
	if strings.Contains(q, "repmgr.") {
		db = "repmgr"
	}
	out, err := exec.Command("docker", "exec", fmt.Sprintf("labimg-%d", i), "psql", "-h", "/tmp", "-U", "postgres", "-d", db, "-tAc", q).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// wait polls container i until q answers want.
func (c *cluster) wait(i int, q, want string, timeout time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	var got string
	for time.Since(start) < timeout {
		got, _ = c.sql(i, q)
		if got == want {
			return time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs, _ := exec.Command("docker", "logs", "--tail", "30", fmt.Sprintf("labimg-%d", i)).CombinedOutput()
	c.t.Fatalf("pg-%d: %q answered %q, want %q, after %s\n%s", i, q, got, want, timeout, logs)
	return 0
}

const (
	isPrimary = "SELECT NOT pg_is_in_recovery()"
	timeline  = "SELECT CASE WHEN pg_is_in_recovery() THEN -1 ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END"
)

func (c *cluster) start() {
	c.run(0)
	c.wait(0, isPrimary, "t", 90*time.Second)
	c.run(1)
	c.wait(1, isPrimary, "f", 90*time.Second)
	// The standby is registered (its record replicated back to it), so
	// its repmgrd can monitor the primary.
	c.wait(1, "SELECT count(*) FROM repmgr.nodes WHERE active", "2", 60*time.Second)
}

// promote kills the primary and returns how long until the standby answered
// as primary.
func (c *cluster) promote() time.Duration {
	sh(c.t, "docker", "kill", "labimg-0")
	return c.wait(1, isPrimary, "t", time.Duration(attempts*interval+60)*time.Second)
}

func TestReplicationFailoverRejoinSplitBrain(t *testing.T) {
	c := newCluster(t)
	c.start()

	// A row written on the primary appears on the standby.
	if _, err := c.sql(0, "CREATE TABLE t (v text); INSERT INTO t VALUES ('before')"); err != nil {
		t.Fatal(err)
	}
	c.wait(1, "SELECT count(*) FROM t WHERE v = 'before'", "1", 30*time.Second)

	// Killing the primary promotes the standby.
	took := c.promote()
	t.Logf("standby promoted %.1f s after the primary was killed (attempts %d x interval %d s)", took.Seconds(), attempts, interval)
	c.wait(1, timeline, "2", 10*time.Second)
	if _, err := c.sql(1, "INSERT INTO t VALUES ('after')"); err != nil {
		t.Fatal(err)
	}

	// The old primary, restarted, rejoins as a standby and replicates.
	sh(t, "docker", "start", "labimg-0")
	c.wait(0, isPrimary, "f", 90*time.Second)
	c.wait(0, "SELECT count(*) FROM t WHERE v = 'after'", "1", 60*time.Second)
	if _, err := c.sql(1, "INSERT INTO t VALUES ('rejoined')"); err != nil {
		t.Fatal(err)
	}
	c.wait(0, "SELECT count(*) FROM t WHERE v = 'rejoined'", "1", 30*time.Second)

	// Now pg-1 is primary on timeline 2 and pg-0 its standby. Kill pg-1,
	// so pg-0 is promoted onto timeline 3, then restart pg-1 while it cannot
	// reach pg-0: it finds no primary and starts as one on its older
	// timeline 2 - the split brain the health check guards against.
	sh(t, "docker", "kill", "labimg-1")
	c.wait(0, isPrimary, "t", time.Duration(attempts*interval+60)*time.Second)
	c.wait(0, timeline, "3", 10*time.Second)
	sh(t, "docker", "network", "disconnect", network, "labimg-1")
	sh(t, "docker", "start", "labimg-1")
	sh(t, "docker", "network", "connect", "--ip", ip(1), network, "labimg-1")
	c.wait(1, isPrimary, "t", 90*time.Second)
	if tl, _ := c.sql(1, timeline); tl != "2" {
		t.Errorf("old primary restarted alone: timeline %s, want 2 (older than the promoted node's 3)", tl)
	}
}

// TestPromotionTime measures failover of the image alone and records
// promotion_s for `make bench` (run with HAUP_BENCH=1).
func TestPromotionTime(t *testing.T) {
	if os.Getenv("HAUP_BENCH") == "" {
		t.Skip("a benchmark: make bench runs it")
	}
	c := newCluster(t)
	c.start()
	took := c.promote()
	fmt.Printf("promotion_s %.2f (attempts %d x interval %d s)\n", took.Seconds(), attempts, interval)
	if err := benchout.Record(benchout.Path(), map[string]float64{"promotion_s": took.Seconds()}); err != nil {
		t.Fatal(err)
	}
}
