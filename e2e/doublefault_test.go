package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// Double faults: the standby's database is down for a while (its host up),
// writes are acknowledged meanwhile, then the primary's node loses power and
// the standby's database comes back. Zero-loss mode: the standby is not
// promoted (it may lack writes), no acknowledged write is lost, and the old
// primary, powered on again, is the primary with all of them. Asynchronous
// mode, within database.max_lag_on_failover: the standby is promoted and
// loses at most what the bound allows; the old primary's diverged data is
// kept aside by the start gate, not deleted, and it rejoins by itself.

// ackedWriter writes through the VIP every 50 ms and remembers, with the
// time, each write that was acknowledged.
type ackedWriter struct {
	mu    sync.Mutex
	notes []string
	at    []time.Time
	stop  context.CancelFunc
	done  sync.WaitGroup
}

func startAckedWriter(ctx context.Context, t *testing.T, tag string) *ackedWriter {
	w := &ackedWriter{}
	wctx, stop := context.WithCancel(ctx)
	w.stop = stop
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		for i := 0; wctx.Err() == nil; i++ {
			note := fmt.Sprintf("%s %d %d", tag, time.Now().UnixNano(), i)
			if _, err := writeThroughVIP(wctx, t, note); err == nil {
				w.mu.Lock()
				w.notes, w.at = append(w.notes, note), append(w.at, time.Now())
				w.mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return w
}

func (w *ackedWriter) finish() ([]string, []time.Time) {
	w.stop()
	w.done.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.notes, w.at
}

// lostNotes returns the indexes of the acknowledged notes the primary
// behind the VIP lacks.
func lostNotes(ctx context.Context, t *testing.T, notes []string) []int {
	t.Helper()
	conn, err := connect(ctx, t, vip, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var lost []int
	for i, note := range notes {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM haup_e2e WHERE note = $1`, note).Scan(&n); err != nil || n == 0 {
			lost = append(lost, i)
		}
	}
	return lost
}

const (
	agentBin        = "/usr/local/libexec/haup/haup-check"
	gateInContainer = "/opt/haup/bin/haup-check gate"
)

// gateOf reads a node's promotion gate record.
func gateOf(t *testing.T, node string) (eligible bool, code, reason string) {
	out, err := onNode(t, node, "cat /var/lib/haup/gate/promotion.json")
	if err != nil {
		return false, "", err.Error()
	}
	var g struct {
		Eligible bool   `json:"eligible"`
		Code     string `json:"code"`
		Reason   string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		return false, "", err.Error()
	}
	return g.Eligible, g.Code, g.Reason
}

// standbyDownThenPrimaryLost runs the double fault and returns the writer's
// acknowledged notes and times, and when the primary lost power.
//
// away says how the standby is away: "database", its database stopped
// (started again after the primary's loss); "receiver", its database up
// but its WAL receiver stopped (primary_conninfo emptied, then reset after
// the primary's loss). repmgrd that notices the lost primary while its own
// database is down fails its election and does not try again, so the steps
// that need repmgrd's own promotion use "receiver": repmgrd watches
// throughout and elects the standby, and the gate decides.
func standbyDownThenPrimaryLost(ctx context.Context, t *testing.T, primary, standby string, down time.Duration, away string) ([]string, []time.Time, time.Time) {
	w := startAckedWriter(ctx, t, "doublefault")
	time.Sleep(2 * time.Second)
	switch away {
	case "database":
		mustOnNode(t, standby, agentBin+" stop-database -timeout 60s")
	case "receiver":
		mustOnNode(t, standby, pgIn+`psql -qc "ALTER SYSTEM SET primary_conninfo = ''" -c "SELECT pg_reload_conf()"`)
	case "cut":
		// Every packet between the two, VRRP too; the host reaches both.
		mustHaup(t, 0, "lab", "cut", primary, standby)
	}
	time.Sleep(down)
	lostAt := time.Now()
	mustHaup(t, 0, "lab", "power-off", primary)
	// The writer has nowhere to write until a promotion; stop it now, so
	// its list is what was acknowledged before the fault.
	notes, at := w.finish()
	switch away {
	case "database":
		mustOnNode(t, standby, agentBin+" start-database -timeout 120s")
	case "receiver":
		mustOnNode(t, standby, pgIn+`psql -qc "ALTER SYSTEM RESET primary_conninfo" -c "SELECT pg_reload_conf()"`)
	case "cut":
		mustHaup(t, 0, "lab", "restore", primary, standby)
	}
	return notes, at, lostAt
}

func doubleFaultZeroLoss(ctx context.Context, t *testing.T, metrics map[string]float64) {
	setZeroLoss(t, true)
	defer setZeroLoss(t, false)
	primary, standby := primaryAndStandby(t)
	notes, _, _ := standbyDownThenPrimaryLost(ctx, t, primary, standby, 8*time.Second, "database")
	t.Logf("%d writes acknowledged with %s's database down, then %s powered off", len(notes), standby, primary)
	// repmgrd elects the standby and asks the gate every 5 s: no promotion.
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		if r := role(t, standby); r == "primary" {
			_, code, why := gateOf(t, standby)
			t.Fatalf("%s was promoted although it may lack acknowledged writes (gate %s: %s)", standby, code, why)
		}
		if h := vipHolders(); len(h) != 0 {
			t.Fatalf("VIP holders with the primary off and the standby ineligible: %v", h)
		}
		time.Sleep(500 * time.Millisecond)
	}
	eligible, code, why := gateOf(t, standby)
	if eligible {
		t.Fatalf("%s's gate allows its promotion: %s", standby, why)
	}
	st := haup(t, "status", labInventory)
	if st.code != 3 || !strings.Contains(st.stdout, "haup promote "+standby+" --accept-data-loss") {
		t.Errorf("status without an eligible standby: exit %d\n%s", st.code, st.stdout)
	}
	t.Logf("%s not promoted, its gate: %s (%s)", standby, code, why)
	// haup promote: refused without --accept-data-loss, and for the
	// unreachable old primary; the plan says what the standby may lack.
	if r := haup(t, "promote", standby, labInventory); r.code != 1 || !strings.Contains(r.stderr, "promotion gate refuses it") || !strings.Contains(r.stderr, "--accept-data-loss") {
		t.Errorf("promote without --accept-data-loss: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := haup(t, "promote", primary, "--accept-data-loss", labInventory); r.code != 1 || !strings.Contains(r.stderr, "cannot be reached") {
		t.Errorf("promote of the unreachable old primary: exit %d\n%s", r.code, r.stderr)
	}
	if r := haup(t, "promote", standby, "--accept-data-loss", "--dry-run", labInventory); r.code != 0 || !strings.Contains(r.stdout, "Data loss accepted: "+standby+" may lack acknowledged writes") {
		t.Errorf("promote --dry-run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// repmgrd may not even try (it has not reached its upstream since its
	// database started); when it does, the gate refuses. Asked directly:
	if _, err := onNode(t, standby, "docker exec -u postgres pg "+gateInContainer); err == nil {
		t.Errorf("the gate, asked in %s's container, allows the promotion", standby)
	}
	// The old primary comes back: the primary again, with every write.
	mustHaup(t, 0, "lab", "power-on", primary)
	waitVIP(t, primary, 3*time.Minute)
	waitHealthy(t, 3*time.Minute)
	if r := haup(t, "promote", standby, "--accept-data-loss", labInventory); r.code != 1 || !strings.Contains(r.stderr, primary+" answers as a primary") {
		t.Errorf("promote with a live primary: exit %d\n%s", r.code, r.stderr)
	}
	lost := lostNotes(ctx, t, notes)
	t.Logf("zero-loss double fault: %d of %d acknowledged writes lost", len(lost), len(notes))
	if len(lost) != 0 {
		t.Errorf("zero-loss mode lost %d acknowledged writes", len(lost))
	}
	metrics["doublefault_sync_lost_acked_writes"] = float64(len(lost))
}

func doubleFaultAsync(ctx context.Context, t *testing.T, metrics map[string]float64) {
	// The bound counts the standby's time without streaming: its 3 s
	// away and repmgrd's detection (up to 4 s).
	const boundS = 10 // database.max_lag_on_failover.seconds, the default
	primary, standby := primaryAndStandby(t)
	before := mustOnNode(t, primary, "ls -d /var/lib/haup-pg/diverged-* 2>/dev/null | wc -l")
	notes, at, lostAt := standbyDownThenPrimaryLost(ctx, t, primary, standby, 3*time.Second, "receiver")
	waitRole(t, standby, "primary", 60*time.Second)
	waitVIP(t, standby, 30*time.Second)
	// repmgrd promoted it, and asked the gate first.
	if logs := mustOnNode(t, standby, "docker logs pg 2>&1 | grep -c 'failover validation command returned zero' || true"); logs == "0" {
		t.Errorf("repmgrd promoted %s without asking the gate", standby)
	}
	lost := lostNotes(ctx, t, notes)
	var first time.Time
	if len(lost) > 0 {
		first = at[lost[0]]
	}
	span := 0.0
	if !first.IsZero() {
		span = lostAt.Sub(first).Seconds()
	}
	t.Logf("asynchronous double fault: %s promoted; %d of %d acknowledged writes lost, from %.1f s before the primary's loss (bound %d s)", standby, len(lost), len(notes), span, boundS)
	if span > boundS {
		t.Errorf("lost writes span %.1f s, over max_lag_on_failover's %d s", span, boundS)
	}
	metrics["doublefault_async_lost_acked_writes"] = float64(len(lost))
	metrics["doublefault_async_lost_span_s"] = span
	metrics["doublefault_async_bound_s"] = boundS
	// The old primary comes back: its data past the fork is kept aside by
	// the start gate and it rejoins as a standby, with no command.
	mustHaup(t, 0, "lab", "power-on", primary)
	waitRole(t, primary, "standby", 4*time.Minute)
	waitHealthy(t, 3*time.Minute)
	kept := mustOnNode(t, primary, "ls -d /var/lib/haup-pg/diverged-* 2>/dev/null | wc -l")
	deleted := 0
	if len(lost) > 0 && kept == before {
		deleted = 1
		t.Errorf("%s's diverged data (%d writes the new primary lacks) was not kept", primary, len(lost))
	}
	if kept != before {
		rec := mustOnNode(t, primary, "cat $(ls -d /var/lib/haup-pg/diverged-* | tail -1)/kept.json")
		t.Logf("kept: %s", rec)
		if !strings.Contains(rec, `"past_fork_bytes"`) {
			t.Errorf("kept record: %s", rec)
		}
		// The record lists the transactions committed past the fork: at
		// least the lost writes, each its own transaction.
		var kr nodeapi.KeptRecord
		if err := json.Unmarshal([]byte(rec), &kr); err != nil {
			t.Errorf("kept record: %v", err)
		} else if kr.CommitsFrom == "" || (kr.CommitsComplete && kr.CommitCount < len(lost)) {
			t.Errorf("kept record lists %d transactions past the fork (from %q, whole %v), %d acknowledged writes were lost", kr.CommitCount, kr.CommitsFrom, kr.CommitsComplete, len(lost))
		}
		if st := haup(t, "status", labInventory); !strings.Contains(st.stdout, "kept") || !strings.Contains(st.stdout, "committed past the fork") {
			t.Errorf("status does not list the kept data and its transactions:\n%s", st.stdout)
		}
		mustOnNode(t, primary, "rm -rf /var/lib/haup-pg/diverged-*")
	}
	metrics["diverged_copies_deleted"] = float64(deleted)
}

// doubleFaultBeyondBound: asynchronous mode with max_lag_on_failover at 6 s
// (the least the lab's repmgr timings allow) and the standby's WAL receiver
// stopped for 10 s: no automatic promotion (repmgrd elects it, the gate
// refuses); the
// operator's haup promote --accept-data-loss promotes it; the old primary's
// data is kept when it returns.
func doubleFaultBeyondBound(ctx context.Context, t *testing.T) {
	inv := withMaxLagSeconds(t, 6)
	mustHaup(t, 0, "apply", inv)
	defer mustHaup(t, 0, "apply", labInventory)
	waitHealthy(t, 2*time.Minute)
	primary, standby := primaryAndStandby(t)
	notes, _, _ := standbyDownThenPrimaryLost(ctx, t, primary, standby, 10*time.Second, "receiver")
	time.Sleep(12 * time.Second)
	if r := role(t, standby); r != "standby" {
		t.Fatalf("%s is %s: promoted beyond max_lag_on_failover", standby, r)
	}
	if ok, code, why := gateOf(t, standby); ok || code != "lag-seconds" {
		t.Errorf("gate: %v %s %s", ok, code, why)
	}
	if logs := mustOnNode(t, standby, "docker logs pg 2>&1 | grep -c 'failover validation command returned a non-zero value' || true"); logs == "0" {
		t.Errorf("repmgrd did not ask the gate")
	}
	r := mustHaup(t, 0, "promote", standby, "--accept-data-loss", inv)
	if !strings.Contains(r.stdout, "Promoted: "+standby+" is the primary and holds the VIP") {
		t.Errorf("promote output:\n%s", r.stdout)
	}
	lost := lostNotes(ctx, t, notes)
	t.Logf("beyond the bound: %s promoted by haup promote --accept-data-loss; %d of %d acknowledged writes lost", standby, len(lost), len(notes))
	mustHaup(t, 0, "lab", "power-on", primary)
	waitRole(t, primary, "standby", 4*time.Minute)
	waitHealthy(t, 3*time.Minute)
	if len(lost) > 0 {
		if kept := mustOnNode(t, primary, "ls -d /var/lib/haup-pg/diverged-* 2>/dev/null | wc -l"); kept == "0" {
			t.Errorf("%s's data with %d writes the new primary lacks was not kept", primary, len(lost))
		}
	}
	mustOnNode(t, primary, "rm -rf /var/lib/haup-pg/diverged-*")
}

// withMaxLagSeconds writes the lab's inventory with
// database.max_lag_on_failover.seconds set, beside it.
func withMaxLagSeconds(t *testing.T, seconds int) string {
	return labInventoryWith(t, "inventory-max-lag.yaml", func(doc map[string]any) {
		db, _ := doc["database"].(map[string]any)
		db["max_lag_on_failover"] = map[string]any{"seconds": seconds}
	})
}

// doubleFaultStandbyNodeDown: the standby's node powered off, the
// primary's node powered off, the standby's node back first; in zero-loss
// mode (the primary's commits wait for the standby), then in asynchronous
// mode (they do not: the standby cannot show what it lacks). Whatever the
// image decides at its start (it may be the node named to start as
// primary), nothing is promoted: the standby's record is of before its
// boot, its start gate holds a start as primary, its gate refuses. The
// primary back: the primary again, every acknowledged write there.
func doubleFaultStandbyNodeDown(ctx context.Context, t *testing.T, metrics map[string]float64) {
	for _, mode := range []string{"sync", "async"} {
		setZeroLoss(t, mode == "sync")
		waitHealthy(t, 2*time.Minute)
		lost := standbyNodeDownThenPrimary(ctx, t, mode)
		metrics["doublefault_"+mode+"_nodedown_lost_acked_writes"] = float64(len(lost))
	}
	setZeroLoss(t, false)
}

func standbyNodeDownThenPrimary(ctx context.Context, t *testing.T, mode string) []int {
	primary, standby := primaryAndStandby(t)
	w := startAckedWriter(ctx, t, "doublefault-node-"+mode)
	time.Sleep(2 * time.Second)
	mustHaup(t, 0, "lab", "power-off", standby)
	time.Sleep(5 * time.Second)
	mustHaup(t, 0, "lab", "power-off", primary)
	notes, _ := w.finish()
	mustHaup(t, 0, "lab", "power-on", standby)
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		if r := role(t, standby); r == "primary" {
			t.Fatalf("%s (%s): %s came back as the primary while it may lack acknowledged writes", mode, standby, standby)
		}
		if h := vipHolders(); len(h) != 0 {
			t.Fatalf("%s: VIP holders with the primary off: %v", mode, h)
		}
		time.Sleep(time.Second)
	}
	t.Logf("%s: %d writes acknowledged before %s lost power (%s was off); %s back alone for 40 s: not promoted", mode, len(notes), primary, standby, standby)
	mustHaup(t, 0, "lab", "power-on", primary)
	waitVIP(t, primary, 3*time.Minute)
	waitHealthy(t, 4*time.Minute)
	lost := lostNotes(ctx, t, notes)
	if len(lost) != 0 {
		t.Errorf("%s: %d acknowledged writes lost", mode, len(lost))
	}
	return lost
}

// doubleFaultCut: the standby cut off from the primary (every packet, VRRP
// too) for a while, writes acknowledged meanwhile, the primary's node
// powered off, the cut restored. Zero-loss mode: the primary's commits wait
// for the silent standby, so nothing acknowledged is lost, whether or not
// the standby is promoted. Asynchronous mode: the standby is promoted and
// the loss is within max_lag_on_failover. Each time the old primary then
// returns and the cluster converges with no command, its diverged data kept.
func doubleFaultCut(ctx context.Context, t *testing.T, metrics map[string]float64) {
	for _, mode := range []struct {
		name string
		sync bool
		cut  time.Duration
	}{{"zero-loss", true, 8 * time.Second}, {"asynchronous", false, 3 * time.Second}} {
		setZeroLoss(t, mode.sync)
		waitHealthy(t, 2*time.Minute)
		primary, standby := primaryAndStandby(t)
		before := mustOnNode(t, primary, "ls -d /var/lib/haup-pg/diverged-* 2>/dev/null | wc -l")
		notes, at, lostAt := standbyDownThenPrimaryLost(ctx, t, primary, standby, mode.cut, "cut")
		// Promoted or not, by the gate's verdict; whichever, nothing
		// acknowledged may be missing from whoever is primary next.
		promoted := waitRoleWithin(t, standby, "primary", 30*time.Second)
		eligible, code, why := gateOf(t, standby)
		t.Logf("%s: %d writes acknowledged with %s cut off for %s, then %s powered off: %s promoted %v (gate %v %s: %s)",
			mode.name, len(notes), standby, mode.cut, primary, standby, promoted, eligible, code, why)
		var lost []int
		if promoted {
			waitVIP(t, standby, 30*time.Second)
			lost = lostNotes(ctx, t, notes)
		}
		mustHaup(t, 0, "lab", "power-on", primary)
		if promoted {
			waitRole(t, primary, "standby", 4*time.Minute)
		} else {
			waitVIP(t, primary, 3*time.Minute)
		}
		waitHealthy(t, 4*time.Minute)
		if !promoted {
			lost = lostNotes(ctx, t, notes)
		}
		span := 0.0
		if len(lost) > 0 {
			span = lostAt.Sub(at[lost[0]]).Seconds()
		}
		t.Logf("%s cut-off double fault: %d of %d acknowledged writes lost (span %.1f s)", mode.name, len(lost), len(notes), span)
		if mode.sync {
			if len(lost) != 0 {
				t.Errorf("zero-loss mode lost %d acknowledged writes", len(lost))
			}
			metrics["doublefault_sync_cut_lost_acked_writes"] = float64(len(lost))
		} else {
			if !promoted {
				t.Errorf("asynchronous mode, %s cut off for %s: not promoted (gate %s: %s)", standby, mode.cut, code, why)
			}
			if span > 10 {
				t.Errorf("lost writes span %.1f s, over max_lag_on_failover's 10 s", span)
			}
			metrics["doublefault_async_cut_lost_acked_writes"] = float64(len(lost))
		}
		if len(lost) > 0 {
			if kept := mustOnNode(t, primary, "ls -d /var/lib/haup-pg/diverged-* 2>/dev/null | wc -l"); kept == before {
				t.Errorf("%s's diverged data (%d writes the new primary lacks) was not kept", primary, len(lost))
			}
		}
		mustOnNode(t, primary, "rm -rf /var/lib/haup-pg/diverged-*")
	}
	setZeroLoss(t, false)
}

// waitRoleWithin reports whether node's database answers as want within
// timeout.
func waitRoleWithin(t *testing.T, node, want string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if role(t, node) == want {
			return true
		}
	}
	return false
}
