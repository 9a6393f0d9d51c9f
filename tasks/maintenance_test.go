package tasks

import (
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/status"
)

// pauseCluster is the example's two nodes converged: pg-0 the primary with
// the VIP, pg-1 its streaming standby; mut changes their facts.
func pauseCluster(t *testing.T, mut func(p, s *Facts)) *Plan {
	t.Helper()
	inv := fixture.Example(t)
	plan := &Plan{Inventory: inv}
	nodes := nodefacts.Pair(t, inv, nil)
	for _, n := range nodes {
		plan.Nodes = append(plan.Nodes, &NodePlan{Node: n.Desired.Node, Facts: n.Facts})
	}
	if mut != nil {
		mut(nodes[0].Facts, nodes[1].Facts)
	}
	return plan
}

// TestPauseInput: every bad --for or --reason is refused before anything
// connects; the bounds themselves are accepted.
func TestPauseInput(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		reason string
		want   string
	}{
		{0, "", "a pause must last a positive time"},
		{-time.Minute, "", "a pause must last a positive time"},
		{MinPause - time.Second, "", "shorter than 20s"},
		{MaxPause + time.Second, "", "longer than 7d (168h0m0s)"},
		{time.Hour, strings.Repeat("x", 201), "at most 200"},
		{time.Hour, "two\nlines", "control character"},
	} {
		if err := CheckPauseInput(tc.d, tc.reason); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--for %s --reason %q: %v, want %q", tc.d, tc.reason, err, tc.want)
		}
		if _, err := PlanPause(pauseCluster(t, nil), tc.d, tc.reason, "ops", time.Now()); err == nil {
			t.Errorf("--for %s --reason %q: planned", tc.d, tc.reason)
		}
	}
	for _, d := range []time.Duration{MinPause, MaxPause, DefaultPause} {
		if err := CheckPauseInput(d, "SAN firmware, ticket #42"); err != nil {
			t.Errorf("--for %s: %v", d, err)
		}
	}
}

// TestPlanPauseRefusals: no primary, a database that does not answer, an
// agent apply has yet to replace: refused, with the reason.
func TestPlanPauseRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(p, s *Facts)
		want string
	}{
		{"no primary", func(p, s *Facts) { p.Database.Role = "down" }, "pg-0's database does not answer (down)"},
		{"no primary, two standbys", func(p, s *Facts) { p.Database.Role = "standby" }, "the cluster has no primary"},
		{"standby down", func(p, s *Facts) { s.Database.Role = "down" }, "pg-1's database does not answer (down)"},
		{"standby unknown", func(p, s *Facts) { s.Database, s.DatabaseError = nil, "sudo: a password is required" }, "pg-1's database does not answer (unknown: sudo: a password is required)"},
	} {
		_, err := PlanPause(pauseCluster(t, tc.mut), time.Hour, "", "ops", time.Now())
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	plan := pauseCluster(t, nil)
	plan.Nodes[1].Changes = []Change{{Op: OpUpdate, Kind: "file", Name: nodeapi.BinaryPath}}
	if _, err := PlanPause(plan, time.Hour, "", "ops", time.Now()); err == nil || !strings.Contains(err.Error(), "pg-1 runs another haup-check") {
		t.Errorf("agent to replace: %v", err)
	}
	if _, err := PlanResume(pauseCluster(t, nil), time.Now()); err == nil || !strings.Contains(err.Error(), "not paused on any node") {
		t.Errorf("resume, nothing paused: %v", err)
	}
}

// TestPausePlans: what pause and resume print, golden: each node's change,
// the cost (none) and what holds while paused.
func TestPausePlans(t *testing.T) {
	now := time.Date(2026, 11, 25, 5, 0, 0, 0, time.UTC)
	var b strings.Builder
	op, err := PlanPause(pauseCluster(t, nil), 2*time.Hour, "SAN firmware upgrade", "ops@laptop", now)
	if err != nil {
		t.Fatal(err)
	}
	op.Print(&b)
	b.WriteString("---- again, while paused ----\n")
	paused := pauseCluster(t, func(p, s *Facts) {
		for _, f := range []*Facts{p, s} {
			f.Database.FailoverPaused, f.Database.Pause = true, nodefacts.MaintenancePause(now.Add(-10*time.Minute))
		}
	})
	op, err = PlanPause(paused, 30*time.Minute, "", "ops@laptop", now)
	if err != nil {
		t.Fatal(err)
	}
	op.Print(&b)
	b.WriteString("---- resume ----\n")
	op, err = PlanResume(paused, now)
	if err != nil {
		t.Fatal(err)
	}
	op.Print(&b)
	golden(t, "pause-plans.txt", []byte(b.String()))
}

// TestMaintenanceStatus: status calls the cluster degraded and names the
// maintenance once, not as a left-over pause per node; a node that is not
// paused among paused ones is named; an overdue maintenance is a left-over
// pause again.
func TestMaintenanceStatus(t *testing.T) {
	judged := func(plan *Plan) *status.ClusterStatus {
		for _, np := range plan.Nodes {
			// The check ran a second ago, and only the primary passed.
			np.Facts.LastCheck = &nodeapi.Report{Pass: np.Facts.Role() == nodeapi.RolePrimary, Role: np.Facts.Role()}
			np.Facts.LastCheckAgeS = 1
		}
		return plan.Status(status.Options{})
	}
	cs := judged(pauseCluster(t, nodefacts.InMaintenanceNow))
	reasons := strings.Join(cs.Reasons, "\n")
	if cs.Verdict != status.VerdictDegraded || cs.Maintenance == nil || len(cs.Reasons) != 1 ||
		!strings.HasPrefix(reasons, "maintenance: automatic failover paused until ") ||
		!strings.Contains(reasons, "(disk swap; by ops@laptop at ") || !strings.Contains(reasons, ") on pg-0, pg-1: if the primary is lost, no standby is promoted") {
		t.Errorf("verdict %s, maintenance %+v:\n%s", cs.Verdict, cs.Maintenance, reasons)
	}

	cs = judged(pauseCluster(t, func(p, s *Facts) {
		nodefacts.InMaintenanceNow(p, s)
		s.Database.FailoverPaused = false
	}))
	if reasons := strings.Join(cs.Reasons, "\n"); !strings.Contains(reasons, ") on pg-0: ") || !strings.Contains(reasons, "NOT paused on pg-1 (its repmgrd may promote)") {
		t.Errorf("a node not paused:\n%s", reasons)
	}

	cs = judged(pauseCluster(t, func(p, s *Facts) {
		s.Database.FailoverPaused, s.Database.Pause = true, nodefacts.MaintenancePause(time.Now().Add(-2*time.Hour))
	}))
	if reasons := strings.Join(cs.Reasons, "\n"); cs.Maintenance != nil || !strings.Contains(reasons, "pg-1: repmgrd's automatic failover is paused (by haup pause (disk swap; ops@laptop) at") {
		t.Errorf("an overdue maintenance: %+v\n%s", cs.Maintenance, reasons)
	}
}

// TestMaintenancePlan: diff keeps a maintenance pause (no resume, a note
// instead), resumes an overdue one, plans no rolling change while it lasts
// and says why; switchover refuses.
func TestMaintenancePlan(t *testing.T) {
	plan := pauseCluster(t, nodefacts.InMaintenanceNow)
	clusterChanges(plan)
	text := planText(plan)
	if !plan.Empty() || strings.Contains(text, "resume automatic failover") ||
		!strings.Contains(text, "Note: maintenance: automatic failover paused until") || !strings.Contains(text, "apply keeps the pause (no resume)") {
		t.Errorf("plan in maintenance:\n%s", text)
	}
	if _, err := PlanSwitchover(plan, ""); err == nil || !strings.Contains(err.Error(), "refusing: maintenance: automatic failover paused until") || !strings.Contains(err.Error(), "`haup resume` first") {
		t.Errorf("switchover in maintenance: %v", err)
	}

	overdue := pauseCluster(t, func(p, s *Facts) {
		s.Database.FailoverPaused, s.Database.Pause = true, nodefacts.MaintenancePause(time.Now().Add(-2*time.Hour))
	})
	clusterChanges(overdue)
	if text := planText(overdue); !strings.Contains(text, "~ repmgrd failover: resume automatic failover: paused at") {
		t.Errorf("an overdue maintenance is not resumed:\n%s", text)
	}

	// A new image: no rolling change while paused.
	rolling := func(allow bool) *Plan {
		plan := pauseCluster(t, nodefacts.InMaintenanceNow)
		inv := plan.Inventory
		inv.Database.Image = "wjy2020/timescaledb-repmgr:pg14.16-ts2.17.2"
		for i, n := range inv.Nodes {
			d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
			plan.Nodes[i] = Build(inv, d, plan.Nodes[i].Facts, Options{AllowPrimaryRestart: allow})
		}
		clusterChanges(plan)
		return plan
	}
	plan = rolling(false)
	if from, _ := plan.Rolling(); from != nil {
		t.Error("a rolling change planned in maintenance")
	}
	if err := plan.Blocked(); err == nil || !strings.Contains(err.Error(), "no rolling change while automatic failover is paused for maintenance") {
		t.Errorf("blocked: %v", err)
	}
	plan = rolling(true)
	if from, _ := plan.Rolling(); from != nil || plan.Blocked() != nil {
		t.Errorf("--allow-primary-restart in maintenance: rolling %v, blocked %v", from, plan.Blocked())
	}
}
