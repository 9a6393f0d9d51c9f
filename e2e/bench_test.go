package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/benchout"
)

// drillJSON is what `haup drill --json` reports (the fields the bench reads).
type drillJSON struct {
	Fault          string   `json:"fault"`
	VIPS           float64  `json:"vip_s"`
	WriteS         float64  `json:"write_s"`
	PromotedS      float64  `json:"promoted_s"`
	PromotedToVIPS float64  `json:"promoted_to_vip_s"`
	StepDownS      float64  `json:"step_down_s"`
	DualVIPS       float64  `json:"dual_vip_s"`
	DualPrimaryS   float64  `json:"dual_primary_s"`
	Acked          int      `json:"acked_writes"`
	Lost           int      `json:"lost_acked_writes"`
	HealthyS       float64  `json:"healthy_after_undo_s"`
	CommitMS       float64  `json:"commit_ms"`
	LongestGapS    float64  `json:"longest_write_gap_s"`
	Node           string   `json:"node"`
	Primary        string   `json:"primary"`
	Verdict        string   `json:"verdict"`
	Held           bool     `json:"guarantees_held"`
	Broken         []string `json:"broken"`
}

// runDrill runs one `haup drill --json` on the lab and returns its report;
// exit 4 (a guarantee broken) is a result, not an error.
func runDrill(t testing.TB, fault string, extra ...string) drillJSON {
	t.Helper()
	return runDrillOn(t, labInventory, fault, extra...)
}

// runDrillOn is runDrill with another lab inventory.
func runDrillOn(t testing.TB, inv, fault string, extra ...string) drillJSON {
	t.Helper()
	args := append([]string{"drill", "--fault", fault, "--yes", "--json"}, extra...)
	args = append(args, inv)
	r := haup(t, args...)
	if r.code != 0 && r.code != 4 {
		t.Fatalf("haup drill --fault %s: exit %d\nstdout:\n%s\nstderr:\n%s", fault, r.code, r.stdout, r.stderr)
	}
	var d drillJSON
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("drill JSON: %v\n%s", err, r.stdout)
	}
	return d
}

// waitHealthy waits until haup status says healthy.
func waitHealthy(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := haup(t, "status", labInventory)
		if r.code == 0 {
			return
		}
		if time.Now().After(deadline) {
			// The nodes' database containers say why (repmgrd's log too).
			for _, n := range []string{"pg-0", "pg-1"} {
				l := haup(t, "lab", "exec", n, "--", "docker", "logs", "--tail", "150", "pg")
				t.Logf("%s's container log (last 150 lines):\n%s%s", n, l.stdout, l.stderr)
			}
			t.Fatalf("the cluster is not healthy after %s:\n%s", timeout, r.stdout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// BenchmarkFailover runs `haup drill` on the lab with haup's default timings,
// HAUP_FAILOVER_DRILLS times (default 5) for each fault: the primary's
// container killed, its node powered off, its postgres frozen for 20 s. It
// records, per fault, the seconds from the fault to the first acknowledged
// write through the VIP (median and max), the seconds with two VIP holders
// and two writable primaries, and the acknowledged writes lost. Nothing is
// asserted: the figures go to stdout and BENCH_OUT.
func BenchmarkFailover(b *testing.B) {
	needRoot(b)
	drills := 5
	if v, err := strconv.Atoi(os.Getenv("HAUP_FAILOVER_DRILLS")); err == nil && v > 0 {
		drills = v
	}
	benchCluster(b)
	for b.Loop() {
		metrics := map[string]float64{"failover_drills": float64(drills)}
		for _, mode := range []string{"async", "sync"} {
			setZeroLoss(b, mode == "sync")
			failoverDrills(b, mode, drills, metrics)
		}
		setZeroLoss(b, false)
		// A partition of the primary from the standby, with no witness:
		// both sides hold the VIP and take writes once the standby promotes
		// (see README, "Network partitions").
		waitHealthy(b, 3*time.Minute)
		d := runDrill(b, "partition", "--hold", "60s")
		b.Logf("partition drill (no witness): two VIP holders %.1f s, two writable primaries %.1f s, lost %d of %d acknowledged writes, held %v %v",
			d.DualVIPS, d.DualPrimaryS, d.Lost, d.Acked, d.Held, d.Broken)
		metrics["partition_nowitness_dual_writable_s"] = d.DualPrimaryS
		metrics["partition_nowitness_dual_vip_s"] = d.DualVIPS
		metrics["partition_nowitness_lost_acked_writes"] = float64(max(d.Lost, 0))
		// The same 30 s partition with a witness: the primary is cut off
		// from the standby and the witness; it steps down by itself and
		// the standby, with the witness, takes over. make test's
		// witness-partition step runs this drill: when it ran on this
		// commit (CI runs both in a row) its figures stand.
		if benchout.Has(benchout.Path(), "partition_step_down_s") {
			b.Logf("partition drill (witness): the figures are the ones make test's witness-partition step measured on this commit")
		} else {
			withWitness(b, func() {
				d := runDrillOn(b, witnessInventory, "partition", "--hold", "30s")
				b.Logf("partition drill (witness): step-down %.1f s, promoted %.1f s, VIP %.1f s, two VIP holders %.1f s, two writable primaries %.1f s, lost %d of %d, held %v %v",
					d.StepDownS, d.PromotedS, d.VIPS, d.DualVIPS, d.DualPrimaryS, d.Lost, d.Acked, d.Held, d.Broken)
				metrics["partition_dual_writable_s"] = d.DualPrimaryS
				metrics["partition_dual_vip_s"] = d.DualVIPS
				metrics["partition_step_down_s"] = never(d.StepDownS)
				metrics["partition_witness_write_s"] = never(d.WriteS)
				metrics["partition_lost_acked_writes"] = float64(max(d.Lost, 0))
			})
		}
		if err := benchout.Record(benchout.Path(), metrics); err != nil {
			b.Fatal(err)
		}
	}
}

// failoverDrills runs the drills of one replication mode and records their
// figures under drill_<fault>_<mode>_*; the asynchronous ones also under the
// failover_* names.
func failoverDrills(b *testing.B, mode string, drills int, metrics map[string]float64) {
	var promotedToVIP, commit []float64
	for _, fault := range []string{"kill", "poweroff", "freeze"} {
		var writes, vips []float64
		var dualVIP, dualPrimary, lost float64
		for i := 0; i < drills; i++ {
			waitHealthy(b, 3*time.Minute)
			// 10 s: twice the slowest failover (a frozen primary, about
			// 5.3 s), so a fault lasts past every promotion it causes.
			d := runDrill(b, fault, "--hold", "10s")
			b.Logf("%s %s drill %d: VIP %.2f s, write %.2f s, promoted %.2f s (VIP %.2f s later), two VIP holders %.1f s, two primaries %.1f s, lost %d of %d, commit %.1f ms, held %v %v",
				mode, fault, i+1, d.VIPS, d.WriteS, d.PromotedS, d.PromotedToVIPS, d.DualVIPS, d.DualPrimaryS, d.Lost, d.Acked, d.CommitMS, d.Held, d.Broken)
			if d.PromotedS < 0 {
				// No promotion within the hold: the nodes' database and
				// repmgrd logs say why (kept in the bench's output).
				for _, n := range []string{"pg-0", "pg-1"} {
					r := haup(b, "lab", "exec", n, "--", "docker", "logs", "--since", "90s", "pg")
					b.Logf("%s drill %d: no promotion; %s's container log (last 90 s):\n%s%s", fault, i+1, n, r.stdout, r.stderr)
				}
			}
			writes = append(writes, never(d.WriteS))
			vips = append(vips, never(d.VIPS))
			if d.PromotedToVIPS >= 0 {
				promotedToVIP = append(promotedToVIP, d.PromotedToVIPS)
			}
			commit = append(commit, d.CommitMS)
			dualVIP += d.DualVIPS
			dualPrimary += d.DualPrimaryS
			if d.Lost != 0 {
				lost += float64(max(d.Lost, 1))
			}
		}
		p := fmt.Sprintf("drill_%s_%s_", fault, mode)
		metrics[p+"write_median_s"] = median(writes)
		metrics[p+"write_max_s"] = maxOf(writes)
		metrics[p+"lost_acked_writes"] = lost
		metrics[p+"dual_vip_s"] = dualVIP
		metrics[p+"dual_primary_s"] = dualPrimary
		metrics["dual_vip_holder_s"] += dualVIP
		if mode != "async" {
			continue
		}
		metrics["failover_"+fault+"_write_median_s"] = median(writes)
		metrics["failover_"+fault+"_write_max_s"] = maxOf(writes)
		if fault == "kill" {
			// The names of the first drills, kept for comparison.
			metrics["failover_vip_median_s"] = median(vips)
			metrics["failover_vip_max_s"] = maxOf(vips)
			metrics["failover_write_median_s"] = median(writes)
			metrics["failover_write_max_s"] = maxOf(writes)
		}
	}
	metrics["commit_latency_"+mode+"_ms"] = median(commit)
	if mode == "async" {
		metrics["failover_promoted_to_vip_s"] = median(promotedToVIP)
		// Written now: a later failure must not lose these figures.
		if err := benchout.Record(benchout.Path(), metrics); err != nil {
			b.Fatal(err)
		}
		return
	}
	// What losing the only standby costs the primary's writes in zero-loss
	// mode: its database killed (the host answers), then its node powered
	// off (the host is silent: commits wait until it is back).
	for _, fault := range []string{"kill", "poweroff"} {
		waitHealthy(b, 3*time.Minute)
		standby := otherNode(b)
		d := runDrill(b, fault, "--node", standby, "--hold", "15s")
		b.Logf("sync: %s of the standby %s for 15 s: longest time without an acknowledged write %.2f s, lost %d, held %v %v", fault, standby, d.LongestGapS, d.Lost, d.Held, d.Broken)
		metrics["sync_standby_"+fault+"_write_stall_s"] = d.LongestGapS
	}
}

// otherNode is the node that does not hold the VIP.
func otherNode(t testing.TB) string {
	h := vipHolders()
	if len(h) != 1 {
		t.Fatalf("VIP holders: %v", h)
	}
	if h[0] == "pg-0" {
		return "pg-1"
	}
	return "pg-0"
}

// setZeroLoss turns database.synchronous on or off in the lab's inventory
// and applies it (a change of the checks' configuration: no restart).
func setZeroLoss(t testing.TB, on bool) {
	t.Helper()
	path := filepath.Join(repoRoot, labInventory)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "  synchronous: true\n", "", 1)
	if on {
		s = strings.Replace(s, "\n  primary: ", "\n  synchronous: true\n  primary: ", 1)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	mustHaup(t, 0, "apply", labInventory)
	waitHealthy(t, 3*time.Minute)
	if on {
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(haup(t, "status", labInventory).stdout, "zero-loss mode on") {
			if time.Now().After(deadline) {
				t.Fatal("zero-loss mode is not on 30 s after the apply")
			}
			time.Sleep(time.Second)
		}
	}
}

// benchCluster brings up the two-node lab and a healthy cluster on it for a
// benchmark. The benchmarks of one run share it: the first brings the lab up
// and applies, the next ones find it up and converged (both commands are
// idempotent and cheap when nothing is to do), and TestMain takes it down
// once they have all run. Bringing it down after each benchmark cost each
// one a lab up, a greenfield apply and a clone again.
func benchCluster(b *testing.B) {
	benchLab.Store(true)
	mustHaup(b, 0, "lab", "up", "--nodes", "2")
	mustHaup(b, 0, "apply", labInventory)
	waitHealthy(b, 3*time.Minute)
}

// benchLab tells TestMain that a benchmark brought the lab up.
var benchLab atomic.Bool

// TestMain takes down the lab the benchmarks shared, unless
// HAUP_E2E_KEEP_LAB asks to keep it (the tests take theirs down
// themselves), then removes the haup binary built for the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if haupBin != "" {
		if benchLab.Load() && os.Getenv("HAUP_E2E_KEEP_LAB") == "" {
			cmd := exec.Command(haupBin, "lab", "down")
			cmd.Dir = repoRoot
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "haup lab down after the benchmarks: %v\n%s", err, out)
			}
		}
		os.RemoveAll(filepath.Dir(haupBin))
	}
	os.Exit(code)
}

// never turns "never happened" (-1) into a figure that cannot pass for a
// good one.
func never(x float64) float64 {
	if x < 0 {
		return 999
	}
	return x
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
