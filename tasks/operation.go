package tasks

import (
	"fmt"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

var clearOpScript = "rm -f " + shq(probe.OperationPath) + "\n"

// interruptedOperations plans the end of a switchover that did not end (its
// record is still on a node): finished when the new primary was promoted
// (the old one starts as its standby), undone otherwise (the old primary
// takes writes again); then the records are removed. Without this, a
// switchover killed after refusing writes on the old primary left no writer
// while the plan was empty.
func interruptedOperations(plan *Plan) {
	var rec *probe.Operation
	var holders []*NodePlan
	for _, np := range plan.Nodes {
		if op := np.Facts.Operation; op != nil {
			holders = append(holders, np)
			if rec == nil || op.StepAt.After(rec.StepAt) {
				rec = op
			}
		}
	}
	if rec == nil {
		return
	}
	var from, to *NodePlan
	for _, np := range plan.Nodes {
		switch np.Node.Name {
		case rec.From:
			from = np
		case rec.To:
			to = np
		}
	}
	what := fmt.Sprintf("%s %s -> %s interrupted at %q (%s, by %s)", rec.Kind, rec.From, rec.To, rec.Step,
		rec.StepAt.Format("2006-01-02 15:04:05Z"), rec.By)
	clear := func(blocked string) Change {
		return Change{Op: OpDelete, Kind: KindOperation, Name: rec.Kind,
			Summary: "remove the record of the " + what, Blocked: blocked,
			stage: StageService, task: ExecStep{"remove the operation record", clearOpScript}}
	}
	agent := shq(nodeapi.BinaryPath)
	v := plan.View()
	fv, _ := v.Node(rec.From)
	tv, _ := v.Node(rec.To)
	switch {
	case rec.Kind != "switchover" || from == nil || to == nil:
		blocked := fmt.Sprintf("the record names an operation haup does not know how to finish (%s); remove %s on the node once you have checked the cluster", what, probe.OperationPath)
		for _, np := range holders {
			np.Changes = append(np.Changes, clear(blocked))
		}
		return
	case tv.Role == nodeapi.RolePrimary && (fv.Role != nodeapi.RolePrimary || fv.Timeline < tv.Timeline):
		// Promoted: finish. The old primary's database, stopped, starts as
		// the new primary's standby; a stale primary is left to the rules
		// of clusterChanges (it rejoins).
		if !fv.Up() && !fv.Fenced {
			from.Changes = append(from.Changes, followChange(plan, from, "finish the "+what, to.Node.Name))
		}
	default:
		// Not promoted: undo. The old primary's database runs again and
		// takes writes; its check passes and keepalived gives it the VIP.
		from.Changes = append(from.Changes, Change{Op: OpUpdate, Kind: KindDatabase, Name: from.Node.Name,
			Summary: "undo the " + what + ": start the old primary's database if it is stopped (inside its container, on its data) and let it take writes again; " +
				"writes through the VIP resume when its check passes (within one check interval)",
			stage: StageRejoin,
			task:  ExecStep{"undo the switchover", agent + " start-database -timeout 120s && " + agent + " undemote\n"},
		})
	}
	for _, np := range holders {
		np.Changes = append(np.Changes, clear(""))
	}
}

// interruptedApplies: a node holding the record of an apply that is not
// running any more (no lock, or the lock's holder is gone) was left
// half-way by a killed or failed run. The desired state's changes in this
// plan finish it; the plan says so, with a change that clears the record
// (the next apply's own record takes its place and is removed at its end),
// so diff does not say "No changes" about a cluster an apply left half-way.
func interruptedApplies(plan *Plan) {
	pending := 0
	for _, np := range plan.All() {
		pending += len(np.Changes)
	}
	for _, np := range plan.All() {
		rec := np.Facts.Apply
		if rec == nil || (np.Facts.Lock != nil && !np.Facts.Lock.Stale()) {
			continue
		}
		what := fmt.Sprintf("%s begun %s by %s did not end (at %q, %s)", rec.Kind, rec.StartedAt.Format("2006-01-02 15:04:05Z"), rec.By, rec.Step, rec.StepAt.Format("15:04:05Z"))
		how := "the other changes of this plan finish it"
		if pending == 0 {
			how = "nothing is left to do: the cluster matches the inventory"
		}
		np.Changes = append(np.Changes, Change{Op: OpDelete, Kind: KindOperation, Name: rec.Kind,
			Summary: "the " + what + "; " + how + "; its record is cleared",
			stage:   StageService, task: Nothing{}})
	}
}
