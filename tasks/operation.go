package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path"
	"time"

	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// opRecord is the record of a multi-step operation on its nodes (see
// probe.OperationPath): written on every node involved before the first
// change, brought up to date on the node that carries out each step in the
// same script as the step, and removed from every node at the end.
type opRecord struct {
	op probe.Operation
}

func newOpRecord(kind, from, to string) *opRecord {
	who := "haup"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	return &opRecord{op: probe.Operation{Kind: kind, From: from, To: to, StartedAt: now,
		By: fmt.Sprintf("%s@%s pid %d", who, host, os.Getpid())}}
}

// script writes the record with step as the step under way (atomically:
// a killed write leaves the previous record).
func (r *opRecord) script(step string) string {
	r.op.Step, r.op.StepAt = step, time.Now().UTC()
	b, err := json.Marshal(r.op)
	if err != nil {
		panic(err) // strings and times only
	}
	p := probe.OperationPath
	return fmt.Sprintf("mkdir -p %s && cat > %s.tmp <<'HAUP_RECORD'\n%s\nHAUP_RECORD\nmv -f %s.tmp %s\n",
		shq(path.Dir(p)), shq(p), b, shq(p), shq(p))
}

// begin writes the record on every host.
func (r *opRecord) begin(ctx context.Context, step string, hosts ...remote.Host) error {
	s := r.script(step)
	for _, h := range hosts {
		if _, err := h.Exec(ctx, s); err != nil {
			return &remote.StepError{Host: h.Name(), Step: "record the " + r.op.Kind, Err: err}
		}
	}
	return nil
}

// end removes the record from every host.
func (r *opRecord) end(ctx context.Context, hosts ...remote.Host) error {
	var errs []error
	for _, h := range hosts {
		if _, err := h.Exec(ctx, clearOpScript); err != nil {
			errs = append(errs, &remote.StepError{Host: h.Name(), Step: "remove the " + r.op.Kind + "'s record", Err: err})
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

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
	clear := func(np *NodePlan) Change {
		return Change{Op: OpDelete, Kind: "operation", Name: rec.Kind,
			Summary: "remove the record of the " + what,
			stage:   stageService, do: execStep("remove the operation record", clearOpScript)}
	}
	agent := shq(healthcheck.BinaryPath)
	switch {
	case rec.Kind != "switchover" || from == nil || to == nil:
		for _, np := range holders {
			c := clear(np)
			c.Blocked = fmt.Sprintf("the record names an operation haup does not know how to finish (%s); remove %s on the node once you have checked the cluster", what, probe.OperationPath)
			np.Changes = append(np.Changes, c)
		}
		return
	case to.Facts.Role() == healthcheck.RolePrimary && (from.Facts.Role() != healthcheck.RolePrimary ||
		from.Facts.Database.Timeline < to.Facts.Database.Timeline):
		// Promoted: finish. The old primary's database, stopped, starts as
		// the new primary's standby; a stale primary is left to the rules
		// of clusterChanges (it rejoins).
		if r := from.Facts.Role(); r != healthcheck.RolePrimary && r != healthcheck.RoleStandby && from.Facts.Fence == nil {
			c := followChange(plan, from, rejoinChange(plan, from, "the "+what+" after the promotion", "", []string{to.Node.Name}), to.Node.Name)
			c.Summary = "finish the " + what + ": " + c.Summary
			from.Changes = append(from.Changes, c)
		}
	default:
		// Not promoted: undo. The old primary's database runs again and
		// takes writes; its check passes and keepalived gives it the VIP.
		from.Changes = append(from.Changes, Change{Op: OpUpdate, Kind: "database", Name: from.Node.Name,
			Summary: "undo the " + what + ": start the old primary's database if it is stopped (inside its container, on its data) and let it take writes again; " +
				"writes through the VIP resume when its check passes (within one check interval)",
			stage: stageRejoin,
			do:    execStep("undo the switchover", agent+" start-database -timeout 120s && "+agent+" undemote\n"),
		})
	}
	for _, np := range holders {
		np.Changes = append(np.Changes, clear(np))
	}
}
