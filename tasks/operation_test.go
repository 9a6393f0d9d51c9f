package tasks

import (
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// interruptedPlan is the lab pair after a switchover pg-0 -> pg-1 killed
// at step: pg-0's database in state fromRole ("" when stopped), pg-1 in
// toRole on timeline toTL; the record on both nodes.
func interruptedPlan(t *testing.T, step, fromRole, toRole string, toTL int) *Plan {
	t.Helper()
	inv := fixture.Example(t)
	plan := &Plan{Inventory: inv}
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i, n := range inv.Nodes {
		d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		role, tl := fromRole, 1
		if i == 1 {
			role, tl = toRole, toTL
		}
		f := nodefacts.Converged(t, d, "standby")
		if role == "" {
			f.Database, f.DatabaseError = nil, "connection refused"
		} else {
			f.Database.Role, f.Database.Timeline = role, tl
			if role == nodeapi.RolePrimary {
				f.Database.Replication = nil
			}
		}
		f.Operation = &probe.Operation{Kind: "switchover", From: inv.Nodes[0].Name, To: inv.Nodes[1].Name,
			Step: step, StartedAt: at, StepAt: at.Add(time.Duration(i) * time.Second), By: "op@host pid 1"}
		plan.Nodes = append(plan.Nodes, Build(inv, d, f, Options{}))
	}
	clusterChanges(plan)
	return plan
}

func TestInterruptedSwitchoverIsUndoneBeforeThePromotion(t *testing.T) {
	for _, c := range []struct{ step, fromRole string }{
		{probe.StepDemote, nodeapi.RolePrimary}, // killed with the old primary refusing writes
		{probe.StepStop, ""},                    // its database stopped
		{probe.StepCatchUp, ""},
		{probe.StepPromote, ""}, // killed before pg_promote ran
	} {
		plan := interruptedPlan(t, c.step, c.fromRole, nodeapi.RoleStandby, 1)
		if plan.Empty() {
			t.Fatalf("%s: an interrupted switchover reads as in sync", c.step)
		}
		from, to := plan.Nodes[0].Changes, plan.Nodes[1].Changes
		if len(from) != 2 || !strings.Contains(from[0].Summary, "undo the switchover pg-0 -> pg-1 interrupted at \""+c.step+"\"") ||
			from[1].Kind != "operation" || len(to) != 1 || to[0].Kind != "operation" {
			t.Fatalf("%s: plan:\n%s", c.step, planText(plan))
		}
		if from[0].stage >= from[1].stage {
			t.Errorf("%s: the record is removed before the undo", c.step)
		}
	}
}

func TestInterruptedSwitchoverIsFinishedAfterThePromotion(t *testing.T) {
	plan := interruptedPlan(t, probe.StepVIP, "", nodeapi.RolePrimary, 2)
	from := plan.Nodes[0].Changes
	if len(from) != 2 || !strings.HasPrefix(from[0].Summary, "finish the switchover pg-0 -> pg-1") ||
		!strings.Contains(from[0].Summary, "rejoin as a standby of pg-1: first on the data it has") {
		t.Fatalf("plan:\n%s", planText(plan))
	}
	// The old primary already follows: only the records go.
	plan = interruptedPlan(t, probe.StepFollow, nodeapi.RoleStandby, nodeapi.RolePrimary, 2)
	for _, np := range plan.Nodes {
		if len(np.Changes) != 1 || np.Changes[0].Kind != "operation" {
			t.Fatalf("plan:\n%s", planText(plan))
		}
	}
}

func TestUnknownOperationIsBlocked(t *testing.T) {
	plan := interruptedPlan(t, probe.StepDemote, nodeapi.RolePrimary, nodeapi.RoleStandby, 1)
	for _, np := range plan.Nodes {
		np.Changes = nil
		np.Facts.Operation.Kind = "resize"
	}
	clusterChanges(plan)
	for _, np := range plan.Nodes {
		if len(np.Changes) != 1 || np.Changes[0].Blocked == "" {
			t.Fatalf("plan:\n%s", planText(plan))
		}
	}
}

// TestDownDatabaseInARunningContainer: on the bitnami image a database that
// stopped inside its container stays down (repmgrd only waits): the plan
// starts it, as the current primary's standby or, with no primary, in its
// own role; not while the image's setup still runs.
func TestDownDatabaseInARunningContainer(t *testing.T) {
	inv := fixture.Example(t)
	build := func(settledInit string, otherRole string) *Plan {
		plan := &Plan{Inventory: inv}
		for i, n := range inv.Nodes {
			d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
			f := nodefacts.Converged(t, d, "standby")
			f.Container.ImageFacts = &probe.ImageFacts{TmpInMemory: true, Init: "repmgrd"}
			if i == 0 {
				f.Database.Role, f.Database.Replication = nodeapi.RoleDown, nil
				f.Container.ImageFacts.Init = settledInit
			} else {
				f.Database.Role = otherRole
				if otherRole == nodeapi.RoleDown {
					f.Database.Replication = nil
				}
			}
			plan.Nodes = append(plan.Nodes, Build(inv, d, f, Options{}))
		}
		clusterChanges(plan)
		return plan
	}
	plan := build("repmgrd", nodeapi.RolePrimary)
	if c := plan.Nodes[0].Changes; len(c) != 1 || !strings.Contains(c[0].Summary, "its database is down inside its running container") ||
		!strings.Contains(c[0].Summary, "rejoin as a standby of pg-1: first on the data it has") {
		t.Fatalf("plan:\n%s", planText(plan))
	}
	if plan.Empty() {
		t.Fatal("a database down in its container reads as in sync")
	}
	if plan := build("bash", nodeapi.RolePrimary); len(plan.Nodes[0].Changes) != 0 {
		t.Errorf("a database down during the image's setup is started:\n%s", planText(plan))
	}
	plan = build("repmgrd", nodeapi.RoleDown)
	if c := plan.Nodes[0].Changes; len(c) != 1 || !strings.Contains(c[0].Summary, "no node is primary: start it inside its container") {
		t.Fatalf("plan:\n%s", planText(plan))
	}
}

// TestSettlingStandbyIsNotRejoined: a standby that does not stream while the
// image's setup still runs in its container (it restarts PostgreSQL on its
// own) is left to the setup, not cloned again.
func TestSettlingStandbyIsNotRejoined(t *testing.T) {
	inv := fixture.Example(t)
	plan := &Plan{Inventory: inv}
	for i, n := range inv.Nodes {
		d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		role := nodeapi.RolePrimary
		if i == 1 {
			role = nodeapi.RoleStandby
		}
		f := nodefacts.Converged(t, d, role)
		f.Container.ImageFacts = &probe.ImageFacts{TmpInMemory: true, Init: "repmgrd"}
		if i == 1 {
			f.Database.Replication = nil
			f.Container.ImageFacts.Init = "bash"
		}
		plan.Nodes = append(plan.Nodes, Build(inv, d, f, Options{}))
	}
	clusterChanges(plan)
	if len(plan.Nodes[1].Changes) != 0 {
		t.Fatalf("a settling standby is rejoined:\n%s", planText(plan))
	}
	plan.Nodes[1].Changes = nil
	plan.Nodes[1].Facts.Container.ImageFacts.Init = "repmgrd"
	clusterChanges(plan)
	if len(plan.Nodes[1].Changes) != 1 {
		t.Fatalf("a settled standby that does not stream is not rejoined:\n%s", planText(plan))
	}
}

// TestInterruptedApply: the record of an apply that did not end makes the
// plan say so, even when nothing else is left to do; a live run's does not.
func TestInterruptedApply(t *testing.T) {
	inv := fixture.Example(t)
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	build := func(lock *probe.Lock) *Plan {
		plan := &Plan{Inventory: inv}
		for i, n := range inv.Nodes {
			d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
			role := "standby"
			if i == 0 {
				role = "primary"
			}
			f := nodefacts.Converged(t, d, role)
			if i == 1 {
				f.Apply = &probe.Operation{Kind: "rejoin", Step: "containers", StartedAt: at, StepAt: at, By: "op@host pid 1"}
				f.Lock = lock
			}
			plan.Nodes = append(plan.Nodes, Build(inv, d, f, Options{}))
		}
		clusterChanges(plan)
		return plan
	}
	plan := build(nil)
	if plan.Empty() {
		t.Fatal("an apply left half-way reads as in sync")
	}
	c := plan.Nodes[1].Changes
	if len(c) != 1 || !strings.Contains(c[0].String(), `- operation rejoin: the rejoin begun 2026-12-04 10:00:00Z by op@host pid 1 did not end (at "containers", 10:00:00Z); nothing is left to do: the cluster matches the inventory; its record is cleared`) {
		t.Fatalf("changes: %v", c)
	}
	live := &probe.Lock{Holder: "op@elsewhere pid 2", Host: "elsewhere", PID: 2, Expires: time.Now().Add(time.Hour)}
	if plan := build(live); !plan.Empty() {
		t.Errorf("a run under way reads as interrupted:\n%s", planText(plan))
	}
}
