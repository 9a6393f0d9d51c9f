package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"sync"
	"time"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// opRecord is the record of a multi-step operation on its nodes (see
// probe.OperationPath): written on every node involved before the first
// change, brought up to date on the node that carries out each step in the
// same script as the step, and removed from every node at the end.
type opRecord struct {
	op probe.Operation
	// path is where it is kept: probe.OperationPath, or for an apply
	// probe.ApplyRecordPath.
	path string
}

func newOpRecord(kind, from, to string) *opRecord {
	who := "haup"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	return &opRecord{op: probe.Operation{Kind: kind, From: from, To: to, StartedAt: now,
		By: fmt.Sprintf("%s@%s pid %d", who, host, os.Getpid())}, path: probe.OperationPath}
}

// script writes the record with step as the step under way (atomically:
// a killed write leaves the previous record).
func (r *opRecord) script(step string) string {
	r.op.Step, r.op.StepAt = step, time.Now().UTC()
	b, err := json.Marshal(r.op)
	if err != nil {
		panic(err) // strings and times only
	}
	p := r.path
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
		if _, err := h.Exec(ctx, "rm -f "+shq(r.path)+"\n"); err != nil {
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

// newApplyRecord is the record of an apply (kind: "apply", "rejoin"...).
func newApplyRecord(kind string) *opRecord {
	r := newOpRecord(kind, "", "")
	r.path = probe.ApplyRecordPath
	return r
}

// step brings the record up to date on every host, in parallel; a host
// that cannot be written to fails the apply before the step.
func (r *opRecord) step(ctx context.Context, step string, hosts []remote.Host) error {
	s := r.script(step)
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			if _, err := h.Exec(ctx, s); err != nil {
				errs[i] = &remote.StepError{Host: h.Name(), Step: "record the " + r.op.Kind, Err: err}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
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
