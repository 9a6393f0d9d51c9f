package tasks

import (
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/status"
)

// TestRepmgrdNotWatchingPlan: a streaming standby whose repmgrd does not
// watch its upstream (not yet since its database started, or not for
// longer than a pass takes, or not running) leaves apply nothing to change,
// but the plan does not say the cluster is in sync: it says it is degraded,
// with status's words. One whose repmgrd watches it, one whose repmgrd
// state is unknown, and one in the image's setup (status notes it; the
// setup is the image's) are not flagged by repmgrd; one that does not
// stream is rejoined, and the rejoin waits for repmgrd.
func TestRepmgrdNotWatchingPlan(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Facts)
		note   string // in the plan's last lines; "" for none
	}{
		{"watches", func(f *Facts) { f.Database.Repmgrd = &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: 0} }, ""},
		{"unknown", func(f *Facts) { f.Database.Repmgrd = nil }, ""},
		{"not yet", func(f *Facts) { f.Database.Repmgrd = &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: -1} },
			"pg-1: repmgrd has not reached its upstream since the database started: no automatic failover if the primary is lost until it does"},
		{"stale", func(f *Facts) { f.Database.Repmgrd = &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: 30} },
			"pg-1: repmgrd last reached its upstream 30 s ago"},
		{"not running", func(f *Facts) { f.Database.Repmgrd = &nodeapi.RepmgrdState{Running: false, UpstreamLastSeenS: -1} },
			"pg-1: repmgrd is not running"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := convergedCluster(t, func(i int, f *Facts) {
				healthyFacts(i, f)
				if i == 1 {
					c.mutate(f)
				}
			})
			clusterChanges(plan)
			if !plan.Empty() {
				t.Errorf("changes: %v %v", plan.Nodes[0].Changes, plan.Nodes[1].Changes)
			}
			var b strings.Builder
			plan.Print(&b, Style{})
			out := b.String()
			switch {
			case c.note == "" && !strings.HasSuffix(out, "\nNo changes. The cluster matches the inventory.\n"):
				t.Errorf("not in sync:\n%s", out)
			case c.note != "" && (strings.Contains(out, "No changes.") || !strings.Contains(out, "\nNo changes to make, but the cluster is degraded") || !strings.Contains(out, "\n  - "+c.note)):
				t.Errorf("want degraded with %q:\n%s", c.note, out)
			}
		})
	}
	// A standby that does not stream is rejoined; the rejoin itself waits.
	plan := convergedCluster(t, func(i int, f *Facts) {
		if i == 1 {
			f.Database.Replication = nil
			f.Database.Repmgrd = &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: -1}
		}
	})
	clusterChanges(plan)
	if cs := plan.Nodes[1].Changes; len(cs) != 1 || cs[0].Kind != KindDatabase || !strings.Contains(cs[0].Summary, "waits until its repmgrd watches") {
		t.Errorf("not streaming: %v", cs)
	}
}

// healthyFacts makes convergedCluster's nodes a healthy cluster as status
// judges it: pg-0 the primary whose check passes, pg-1 a standby whose
// repmgrd watches it.
func healthyFacts(i int, f *Facts) {
	f.LastCheck = &nodeapi.Report{Pass: i == 0, At: time.Now()}
	f.LastCheckAgeS = 0.5
	if i == 0 {
		f.Keepalived.State = "MASTER"
	} else {
		f.Keepalived.State = "FAULT"
		f.Database.Repmgrd = &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: 0}
	}
}

// convergedCluster is the example inventory's two nodes with nothing to
// change, pg-0 the primary holding the VIP; mutate edits each node's facts.
func convergedCluster(t *testing.T, mutate func(int, *Facts)) *Plan {
	t.Helper()
	inv := fixture.Example(t)
	plan := &Plan{Inventory: inv}
	for _, n := range nodefacts.Pair(t, inv, mutate) {
		plan.Nodes = append(plan.Nodes, Build(inv, n.Desired, n.Facts, Options{}))
	}
	return plan
}

// TestEmptyPlanSaysUnhealthy: a plan with nothing to change says "No
// changes. The cluster matches the inventory." only when its answers,
// judged as status judges them, make a healthy cluster; otherwise it says
// what status would, and that apply changes none of it.
func TestEmptyPlanSaysUnhealthy(t *testing.T) {
	healthy := healthyFacts
	plan := convergedCluster(t, healthy)
	clusterChanges(plan)
	var b strings.Builder
	plan.Print(&b, Style{})
	if cs := plan.Status(status.Options{MaxLag: status.DefaultMaxLag}); cs.Verdict != status.VerdictHealthy || !plan.Empty() {
		t.Fatalf("the converged cluster: %s %v; plan:\n%s", cs.Verdict, cs.Reasons, b.String())
	}
	if !strings.HasSuffix(b.String(), "\nNo changes. The cluster matches the inventory.\n") {
		t.Errorf("healthy, nothing to change:\n%s", b.String())
	}
	plan = convergedCluster(t, func(i int, f *Facts) {
		healthy(i, f)
		if i == 1 {
			f.Database.Replication[0].LagSeconds, f.Database.Replication[0].LagBytes = 95, 1<<20
		}
	})
	clusterChanges(plan)
	b.Reset()
	plan.Print(&b, Style{})
	out := b.String()
	if !plan.Empty() || strings.Contains(out, "No changes.") || strings.Contains(out, "matches the inventory") ||
		!strings.Contains(out, "\nNo changes to make, but the cluster is degraded (nothing in it that apply changes; `haup status` shows it):\n  - pg-1: replication lags 95 s (over 30s)\n") {
		t.Errorf("lagging standby, nothing to change:\n%s", out)
	}
}
