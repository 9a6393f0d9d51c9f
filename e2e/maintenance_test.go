package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// maintenanceMode: haup pause and resume on the lab. Bad input is refused
// and changes nothing; while paused, diff keeps the pause, switchover and
// drill refuse, and a killed primary's database is not failed over (status
// names the maintenance); started again and resumed, the cluster is
// healthy; a pause of --for 20s (the least haup allows) ends by itself; and
// the next kill of the primary fails over as usual.
func maintenanceMode(ctx context.Context, t *testing.T) {
	waitStatus(t, "healthy", 0, 60*time.Second)
	primary, standby := primaryAndStandby(t)

	for _, d := range []string{"0", "-1m", "soon", "5s", "169h"} {
		if r := haup(t, "pause", "--for", d, labInventory); r.code != 1 || !strings.Contains(r.stderr, "--for") {
			t.Errorf("pause --for %s: exit %d, want 1 naming --for:\n%s", d, r.code, r.stderr)
		}
	}
	if r := haup(t, "resume", labInventory); r.code != 1 || !strings.Contains(r.stderr, "not paused on any node") {
		t.Errorf("resume with nothing paused: exit %d:\n%s", r.code, r.stderr)
	}
	if v, reasons, _ := clusterStatus(t); v != "healthy" {
		t.Fatalf("a refused pause or resume changed something: %s (%s)", v, reasons)
	}

	// Paused: the resume is explicit below, so the time only bounds a
	// failed test.
	r := mustHaup(t, 0, "pause", "--for", "5m", "--reason", "e2e maintenance", labInventory)
	if !strings.Contains(r.stdout, "Cost: none: no restart, no reload, no switchover") {
		t.Errorf("the pause's plan does not state its cost:\n%s", r.stdout)
	}
	reasons := waitStatus(t, "degraded", 2, 20*time.Second)
	if !strings.Contains(reasons, "maintenance: automatic failover paused until") || !strings.Contains(reasons, "(e2e maintenance; by ") {
		t.Errorf("status does not name the maintenance: %s", reasons)
	}
	if r := mustHaup(t, 0, "diff", labInventory); strings.Contains(r.stdout, "resume automatic failover") || !strings.Contains(r.stdout, "Note: maintenance: automatic failover paused") {
		t.Errorf("diff does not keep the pause:\n%s", r.stdout)
	}
	if r := haup(t, "switchover", "--dry-run", labInventory); r.code != 1 || !strings.Contains(r.stderr, "refusing: maintenance:") {
		t.Errorf("switchover while paused: exit %d:\n%s", r.code, r.stderr)
	}
	if r := haup(t, "drill", "--fault", "kill", "--yes", labInventory); r.code != 1 || !strings.Contains(r.stderr, "paused for maintenance") {
		t.Errorf("drill while paused: exit %d:\n%s", r.code, r.stderr)
	}

	// Well past repmgrd's detection (about 4 s at the defaults).
	mustOnNode(t, primary, "docker kill pg >/dev/null")
	for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(time.Second) {
		if r := mustOnNode(t, standby, pgIn+`psql -tAc "SELECT pg_is_in_recovery()"`); r != "t" {
			t.Fatalf("%s was promoted while failover was paused for maintenance (in recovery: %q)", standby, r)
		}
	}
	if _, reasons, _ := clusterStatus(t); !strings.Contains(reasons, "maintenance: automatic failover paused until") {
		t.Errorf("status with the primary down does not name the maintenance: %s", reasons)
	}
	mustOnNode(t, primary, "docker start pg >/dev/null")
	waitRole(t, primary, "primary", 90*time.Second)
	mustHaup(t, 0, "resume", labInventory)
	waitStatus(t, "healthy", 0, 90*time.Second)

	// A short pause ends by itself: each node's timer resumes it; on the
	// standby the timer is lost (as at a reboot of its node), and its
	// agent resumes it once the pause is overdue.
	mustHaup(t, 0, "pause", "--for", "20s", labInventory)
	waitStatus(t, "degraded", 2, 15*time.Second)
	mustOnNode(t, standby, "systemctl stop haup-resume-failover.timer")
	if v, reasons := waitVerdict(t, "healthy", 60*time.Second); v != "healthy" {
		for _, n := range []string{primary, standby} {
			out, _ := onNode(t, n, "date -u +%T.%N; cat "+nodeapi.PausePath+"; systemctl list-timers --all --no-pager | grep haup; journalctl --no-pager -o short-precise -n 40 -u haup-resume-failover.service -u haup-resume-failover.timer")
			t.Logf("%s:\n%s", n, out)
		}
		t.Fatalf("the pause of 20s did not end by itself: status is %s (%s)", v, reasons)
	}
	if out, _ := onNode(t, standby, "journalctl --no-pager -t haup-check --since -2min"); !strings.Contains(out, "its timer had not resumed it") {
		t.Errorf("%s: the agent did not say it resumed the overdue pause:\n%s", standby, out)
	}
	for _, n := range []string{primary, standby} {
		if out, _ := onNode(t, n, "systemctl is-active haup-resume-failover.timer"); strings.TrimSpace(out) == "active" {
			t.Errorf("%s: the resume timer is still active after the pause ended", n)
		}
	}

	// Failover as usual.
	d := drill(ctx, t, func(node string) { mustOnNode(t, node, "docker kill pg >/dev/null") },
		func(node string) { mustOnNode(t, node, "docker start pg >/dev/null") })
	t.Logf("after the maintenance: VIP moved in %.1f s, first write after %.1f s", d.vip.Seconds(), d.write.Seconds())
}

// waitVerdict waits up to timeout for status to say want (its exit code
// agreeing) and returns the last verdict and reasons, for the caller to
// explain a timeout.
func waitVerdict(t *testing.T, want string, timeout time.Duration) (string, string) {
	t.Helper()
	var v, reasons string
	for start := time.Now(); time.Since(start) < timeout; time.Sleep(500 * time.Millisecond) {
		if v, reasons, _ = clusterStatus(t); v == want {
			break
		}
	}
	return v, reasons
}
