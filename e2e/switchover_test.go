package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// switchovers moves the primary back and forth with a writer through the
// VIP: no acknowledged write may be lost, and each switchover's write outage
// (seen by the writer) is measured, over 5 (make bench reuses make test's
// figures).
func switchovers(ctx context.Context, t *testing.T, metrics map[string]float64) {
	const n = 5
	waitStatus(t, "healthy", 0, 120*time.Second)
	var mu sync.Mutex
	var acked []string
	var lastOK time.Time
	var gaps []time.Duration
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; wctx.Err() == nil; i++ {
			note := fmt.Sprintf("switchover %d %d", time.Now().UnixNano(), i)
			if _, err := writeThroughVIP(wctx, t, note); err == nil {
				now := time.Now()
				mu.Lock()
				acked = append(acked, note)
				if !lastOK.IsZero() && now.Sub(lastOK) > 500*time.Millisecond {
					gaps = append(gaps, now.Sub(lastOK))
				}
				lastOK = now
				mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	s := sampleVIP()
	var outages []float64
	fullClones := 0
	for i := 0; i < n; i++ {
		from, to := primaryAndStandby(t)
		mu.Lock()
		before := len(gaps)
		mu.Unlock()
		imageClones := func() string {
			return mustOnNode(t, from, "docker logs pg 2>&1 | grep -c 'Cloning data from primary node' || true")
		}
		clonesBefore := imageClones()
		r := mustHaup(t, 0, "switchover", "--to", to, labInventory)
		if !strings.Contains(r.stdout, "Switchover done: "+to+" is the primary") {
			t.Fatalf("switchover output:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout, "by a full clone") {
			fullClones++
			t.Logf("switchover %d needed a full clone:\n%s", i+1, r.stderr)
		} else if c := imageClones(); c != clonesBefore {
			// The image cloned on its own (its log says so each time).
			fullClones++
			t.Logf("switchover %d: %s's image cloned it (%s clones logged before, %s after)", i+1, from, clonesBefore, c)
		}
		waitVIP(t, to, 30*time.Second)
		// The writer sees the outage: wait for its next success.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			done := len(gaps) > before
			mu.Unlock()
			if done {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		mu.Lock()
		if len(gaps) > before {
			outages = append(outages, gaps[len(gaps)-1].Seconds())
		}
		mu.Unlock()
		waitStatus(t, "healthy", 0, 120*time.Second)
		t.Logf("switchover %d: %s -> %s", i+1, from, to)
	}
	stop()
	wg.Wait()
	unheld := s.unheldTime()
	if dual, samples := s.stop(); dual > 0 {
		t.Errorf("two VIP holders for %s (%d samples)", dual, samples)
	}
	// The demoted primary keeps the VIP until the target takes it (the
	// handover): a client is refused at once, never left waiting on an
	// address nobody holds. One sample is allowed: the two nodes are read
	// one after the other.
	metrics["switchover_vip_unheld_s"] = unheld.Seconds()
	if unheld > 100*time.Millisecond {
		t.Errorf("no node held the VIP for %s across %d switchovers (the demoted primary keeps it until the target takes it)", unheld, n)
	}
	lost := missingNotes(ctx, t, acked)
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost across %d switchovers", lost, len(acked), n)
	}
	sort.Float64s(outages)
	t.Logf("%d switchovers, %d writes acknowledged, %d lost, write outages %v s, VIP held by no node %s", n, len(acked), lost, outages, unheld)
	if len(outages) > 0 {
		metrics["switchover_write_outage_median_s"] = median(outages)
		metrics["switchover_write_outage_max_s"] = maxOf(outages)
	}
	metrics["switchover_lost_acked_writes"] = float64(lost)
	metrics["switchover_full_clones"] = float64(fullClones)
	if fullClones > 0 {
		t.Errorf("%d of %d switchovers re-cloned the old primary", fullClones, n)
	}
	mustHaup(t, 0, "diff", labInventory)
}

// switchoverRefusals: an unknown node, the primary itself, a standby that
// does not stream and a cluster without a VIP holder are refused, with
// nothing changed.
func switchoverRefusals(t *testing.T) {
	// From a healthy cluster: the step before may end as its old primary
	// streams again, its fencing not yet cleared.
	waitStatus(t, "healthy", 0, 2*time.Minute)
	primary, standby := primaryAndStandby(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "pg-9"}, `no node "pg-9"`},
		{[]string{"--to", primary}, "is already the primary"},
	} {
		r := haup(t, append([]string{"switchover"}, append(tc.args, labInventory)...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("switchover %v: exit %d, want 1 with %q:\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
	mustOnNode(t, standby, "docker stop pg >/dev/null")
	r := haup(t, "switchover", labInventory)
	if r.code != 1 || !strings.Contains(r.stderr, "is not a streaming standby") {
		t.Errorf("switchover to a stopped standby: exit %d\n%s", r.code, r.stderr)
	}
	mustOnNode(t, standby, "docker start pg >/dev/null")
	waitStatus(t, "healthy", 0, 120*time.Second)
	mustOnNode(t, primary, "systemctl stop keepalived")
	r = haup(t, "switchover", labInventory)
	if r.code != 1 || !strings.Contains(r.stderr, "no node holds the VIP") {
		t.Errorf("switchover without a VIP holder: exit %d\n%s", r.code, r.stderr)
	}
	mustOnNode(t, primary, "systemctl start keepalived")
	waitVIP(t, primary, 60*time.Second)
	if role(t, primary) != "primary" {
		t.Errorf("a refused switchover changed the roles")
	}
}

// pausedFailover: a pause of repmgrd's failover left behind (a switchover
// killed before it resumed) is seen by status and diff; while it lasts,
// repmgrd on the standby promotes nothing when the primary stops; the
// node's own timer lifts it; and apply lifts one whose timer is far off.
func pausedFailover(t *testing.T) {
	waitStatus(t, "healthy", 0, 60*time.Second)
	primary, standby := primaryAndStandby(t)
	const agent = "/usr/local/libexec/haup/haup-check"
	isStandby := func() string {
		return mustOnNode(t, standby, pgIn+`psql -tAc "SELECT pg_is_in_recovery()"`)
	}
	mustOnNode(t, standby, agent+" pause-failover -for 45s -why e2e")
	reasons := waitStatus(t, "degraded", 2, 30*time.Second)
	if !strings.Contains(reasons, standby+": repmgrd's automatic failover is paused (by e2e at") {
		t.Errorf("degraded for another reason: %s", reasons)
	}
	if r := mustHaup(t, 2, "diff", labInventory); !strings.Contains(r.stdout, "~ repmgrd failover: resume automatic failover: paused at") {
		t.Errorf("diff does not resume the pause:\n%s", r.stdout)
	}
	// Well past repmgrd's detection (about 4 s at the defaults).
	mustOnNode(t, primary, "docker stop pg >/dev/null")
	time.Sleep(10 * time.Second)
	if r := isStandby(); r != "t" {
		t.Errorf("%s was promoted while its failover was paused (in recovery: %q)", standby, r)
	}
	mustOnNode(t, primary, "docker start pg >/dev/null")
	waitStatus(t, "healthy", 0, 90*time.Second)
	if out, _ := onNode(t, standby, "systemctl is-active haup-resume-failover.timer"); strings.TrimSpace(out) == "active" {
		t.Error("the resume timer is still active after it ran")
	}

	mustOnNode(t, standby, agent+" pause-failover -for 10m -why e2e")
	waitStatus(t, "degraded", 2, 30*time.Second)
	mustHaup(t, 0, "apply", labInventory)
	mustHaup(t, 0, "diff", labInventory)
	waitStatus(t, "healthy", 0, 30*time.Second)
	if out, _ := onNode(t, standby, "systemctl is-active haup-resume-failover.timer"); strings.TrimSpace(out) == "active" {
		t.Error("apply resumed failover but left its timer")
	}
}
