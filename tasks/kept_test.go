package tasks

import (
	"strings"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"
	"github.com/haup-project/haup/probe"
)

// TestKeptCopies: kept data is removed only with --remove-kept, only where
// haup keeps copies, and the plan says what is lost; without it, a note.
func TestKeptCopies(t *testing.T) {
	inv := fixture.Example(t)
	build := func(opts Options) *Plan {
		plan := &Plan{Inventory: inv}
		for i, n := range inv.Nodes {
			d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
			role := "standby"
			if i == 0 {
				role = "primary"
			}
			f := nodefacts.Converged(t, d, role)
			if i == 1 {
				dir := inv.Database.DataDir
				f.Kept = []probe.KeptCopy{
					{Path: dir + "/diverged-20261205T023638Z", SizeBytes: 132 << 20, Reason: "its WAL goes on past the fork"},
					{Path: dir + ".diverged-20261201T000000Z"},
					{Path: "/etc"}, // never named, whatever a record says
				}
			}
			plan.Nodes = append(plan.Nodes, Build(inv, d, f, opts))
		}
		clusterChanges(plan)
		keptChanges(plan, opts)
		return plan
	}
	plan := build(Options{})
	if !plan.Empty() {
		t.Fatalf("kept data removed without the flag:\n%s", planText(plan))
	}
	if !strings.Contains(planText(plan), "Note: data kept aside (pg-1 3 copies; haup status lists them)") {
		t.Errorf("no note:\n%s", planText(plan))
	}
	plan = build(Options{RemoveKept: true})
	c := plan.Nodes[1].Changes
	if len(c) != 2 || !strings.Contains(c[0].String(), "- kept-data "+inv.Database.DataDir+"/diverged-20261205T023638Z: removed (--remove-kept), 132 MiB freed; it was kept because: its WAL goes on past the fork; writes in it that the current primary lacks are gone for good") {
		t.Fatalf("changes: %v", c)
	}
	if strings.Contains(planText(plan), "Note: data kept aside") {
		t.Error("a note about copies the plan removes")
	}
}
