package e2e

import (
	"context"
	"math/rand"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// markerWriter keeps what a command prints and closes seen once marker
// appears in it.
type markerWriter struct {
	mu     sync.Mutex
	b      strings.Builder
	marker string
	seen   chan struct{}
	closed bool
}

func (w *markerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if !w.closed && strings.Contains(w.b.String(), w.marker) {
		w.closed = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *markerWriter) hit() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

func (w *markerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// killedSwitchovers kills `haup switchover` (SIGKILL, as an operator's
// machine lost mid-way) at random points spread over its whole run, from
// before its plan prints to after its end, and once as the old primary
// starts streaming (before its repmgrd watches the new primary), with a
// writer through the VIP.
// After each: `haup diff` never says the cluster is in sync while it is not
// healthy (it exits 2 with the repair, or, with nothing for apply to do,
// says the cluster is not healthy and the cluster gets there by itself), one
// `haup apply` brings the cluster to healthy, and no acknowledged write is
// lost.
func killedSwitchovers(ctx context.Context, t *testing.T, metrics map[string]float64) {
	// The random rounds, then one killed as the old primary starts
	// streaming, before its repmgrd watches the new primary (where CI
	// once saw diff say "No changes" while status said degraded).
	const random = 10
	const rounds = random + 1
	waitStatus(t, "healthy", 0, 120*time.Second)
	// How long a whole switchover takes here, to spread the kills over it.
	from, to := primaryAndStandby(t)
	whole := mustHaup(t, 0, "switchover", "--to", to, labInventory).elapsed
	waitStatus(t, "healthy", 0, 120*time.Second)
	t.Logf("a whole switchover %s -> %s took %.1f s", from, to, whole.Seconds())
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	stop := vipWriter(ctx, t, "killed switchover")
	repaired := 0
	for i := 0; i < rounds; i++ {
		from, to := primaryAndStandby(t)
		// Spread evenly over [0, 1.1 x whole], jittered within each slot.
		slot := time.Duration(float64(whole) * 1.1 / random)
		delay := time.Duration(i)*slot + time.Duration(rng.Int63n(int64(slot)))
		out := &markerWriter{marker: from + ": streams from " + to, seen: make(chan struct{})}
		when := make(<-chan struct{})
		if i == random {
			delay, when = time.Hour, out.seen
		}
		cmd := exec.Command(build(t), "switchover", "--to", to, labInventory)
		cmd.Dir = repoRoot
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
		case <-when:
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
		case <-done:
		}
		d := haup(t, "diff", labInventory)
		v, reasons, _ := clusterStatus(t)
		t.Logf("round %d: %s -> %s killed after %.2f s; diff exit %d; status %s (%s)", i+1, from, to, time.Since(began).Seconds(), d.code, v, reasons)
		if i == random && !out.hit() {
			t.Errorf("round %d: the switchover ended before %q:\n%s", i+1, out.marker, out.String())
		}
		switch {
		case d.code == 0 && v != "healthy" && !strings.Contains(d.stdout, "No changes to make, but the cluster is "):
			t.Errorf("round %d: diff says the cluster is in sync while status is %s (%s)\n%s", i+1, v, reasons, d.stdout)
		case d.code == 0 && v != "healthy":
			// Nothing for apply, and diff says the cluster is not healthy:
			// it must get there by itself (the wait below).
			t.Logf("round %d: diff: nothing to change, the cluster not healthy:\n%s", i+1, d.stdout)
		case d.code == 2:
			a := haup(t, "apply", labInventory)
			if a.code != 0 {
				t.Errorf("round %d: the repairing apply failed (exit %d):\n%s%s", i+1, a.code, a.stdout, a.stderr)
				continue
			}
		case d.code != 0:
			t.Fatalf("round %d: diff exit %d:\n%s%s", i+1, d.code, d.stdout, d.stderr)
		}
		// One apply: healthy, and nothing left to do.
		waitStatus(t, "healthy", 0, 180*time.Second)
		if r := haup(t, "diff", labInventory); r.code != 0 {
			t.Errorf("round %d: a second diff after the repair lists changes:\n%s", i+1, r.stdout)
		} else {
			repaired++
		}
	}
	acked := stop()
	lost := missingNotes(ctx, t, acked)
	metrics["switchover_kill_rounds"] = rounds
	metrics["switchover_kill_repaired_by_apply"] = float64(repaired)
	metrics["switchover_kill_lost_acked_writes"] = float64(lost)
	t.Logf("%d killed switchovers, %d repaired by one apply, %d of %d acknowledged writes lost", rounds, repaired, lost, len(acked))
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost across the killed switchovers", lost, len(acked))
	}
}

// keepalivedKilled: keepalived SIGKILLed on the primary (the OOM killer, a
// crash) must not leave the VIP behind: when the primary's database is then
// killed and the standby promoted, no two nodes carry the VIP for more than
// a second (100 ms samples).
func keepalivedKilled(ctx context.Context, t *testing.T, metrics map[string]float64) {
	waitStatus(t, "healthy", 0, 120*time.Second)
	primary, standby := primaryAndStandby(t)
	s := sampleVIP()
	mustOnNode(t, primary, "pkill -KILL -x keepalived") // every keepalived process: none can clean up
	time.Sleep(500 * time.Millisecond)
	mustOnNode(t, primary, "docker kill pg >/dev/null")
	waitVIP(t, standby, 90*time.Second)
	time.Sleep(3 * time.Second)
	dual, samples := s.stop()
	metrics["keepalived_kill_dual_vip_s"] = dual.Seconds()
	t.Logf("keepalived killed on %s, then its database: two VIP holders for %.1f s (%d samples)", primary, dual.Seconds(), samples)
	if dual > time.Second {
		t.Errorf("two VIP holders for %s after keepalived was killed", dual)
	}
	if st := mustOnNode(t, primary, "systemctl is-active keepalived || true"); st != "active" {
		t.Errorf("keepalived on %s is %q after its kill, want active (restarted)", primary, st)
	}
	mustOnNode(t, primary, "docker start pg >/dev/null")
	waitStatus(t, "healthy", 0, 180*time.Second)
}

// promotedRestart: the node haup promoted restarts on its own while the old
// primary is down. The image decides the role at every start from its
// partners, its primary lock and REPMGR_PRIMARY_HOST: with the lock haup
// wrote at the promotion it comes back as the primary, and takes writes.
func promotedRestart(ctx context.Context, t *testing.T) {
	waitStatus(t, "healthy", 0, 120*time.Second)
	from, to := primaryAndStandby(t)
	mustHaup(t, 0, "switchover", "--to", to, labInventory)
	waitStatus(t, "healthy", 0, 120*time.Second)
	if lock := mustOnNode(t, to, "test -s /var/lib/haup-pg/lock/master.lock && echo yes || echo no"); lock != "yes" {
		t.Errorf("%s was promoted by haup but has no primary lock", to)
	}
	mustOnNode(t, from, "docker stop pg >/dev/null")
	mustOnNode(t, to, "docker restart pg >/dev/null")
	start := time.Now()
	waitVIP(t, to, 120*time.Second)
	id, _ := waitWrite(ctx, t, "after the promoted node restarted", 60*time.Second)
	t.Logf("%s restarted with %s down: primary with the VIP, writes back after %.1f s", to, from, time.Since(start).Seconds())
	mustOnNode(t, from, "docker start pg >/dev/null")
	waitStatus(t, "healthy", 0, 180*time.Second)
	waitReplicated(ctx, t, nodeAddr(from), id, 60*time.Second)
}
