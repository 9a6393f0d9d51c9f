package tasks

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"sort"
	"time"
	"unicode"

	"github.com/haup-project/haup/cluster"
	"github.com/haup-project/haup/nodeapi"
)

// Maintenance mode: `haup pause` turns repmgrd's automatic failover off on
// every data node (the primary too, as `repmgr service pause` does), each
// node with its own resume scheduled (healthcheck.PauseFailoverAs), so a
// forgotten pause ends by itself; `haup resume` ends it sooner. The nodes'
// pause records (kind maintenance) are the only state: status, diff, the
// switchover and the metrics all read them.
//
// While it lasts: apply keeps it (no resume planned) and plans no rolling
// change, whose switchover would end it; `haup switchover` and `haup drill`
// refuse; a rejoin pauses the rejoined node again.

// The bounds of `haup pause --for`.
const (
	// MinPause: the resume is a timer on each node, and pausing every node
	// takes a few seconds; a shorter pause would end on one node before
	// another is paused.
	MinPause = 20 * time.Second
	// MaxPause: a maintenance longer than a week is a cluster without
	// failover, not a maintenance.
	MaxPause = 7 * 24 * time.Hour
	// DefaultPause is --for's default.
	DefaultPause = time.Hour
	// maxReason bounds --reason, which status prints on one line.
	maxReason = 200
)

// CheckPauseInput refuses a duration or a reason `haup pause` cannot use,
// before anything connects.
func CheckPauseInput(d time.Duration, reason string) error {
	switch {
	case d <= 0:
		return fmt.Errorf("--for %s: a pause must last a positive time (at least %s, at most %s)", d, MinPause, fmtDuration(MaxPause))
	case d < MinPause:
		return fmt.Errorf("--for %s: shorter than %s, the least a pause of every node lasts (each node's resume is a timer of its own)", d, MinPause)
	case d > MaxPause:
		return fmt.Errorf("--for %s: longer than %s, the longest maintenance haup allows: automatic failover would be off for that long", d, fmtDuration(MaxPause))
	case len(reason) > maxReason:
		return fmt.Errorf("--reason: %d bytes, at most %d", len(reason), maxReason)
	}
	for _, r := range reason {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("--reason: %q holds a control character; one line of text", reason)
		}
	}
	return nil
}

// fmtDuration prints whole days as days, the rest as Go does.
func fmtDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd (%s)", d/(24*time.Hour), d)
	}
	return d.String()
}

// planMaintenance is the cluster's maintenance as a plan's facts show it.
func planMaintenance(plan *Plan, now time.Time) *cluster.Maintenance {
	return plan.View().Maintenance(func(i int) *nodeapi.PauseRecord {
		if db := plan.Nodes[i].Facts.Database; db != nil {
			return db.Pause
		}
		return nil
	}, now)
}

// maintenanceNote is the plan's note on a maintenance in force: what apply
// does and does not do while it lasts.
func maintenanceNote(plan *Plan, now time.Time) string {
	m := planMaintenance(plan, now)
	if m == nil {
		return ""
	}
	return m.Line() + ". apply keeps the pause (no resume), and plans no rolling change (its switchover would end the pause)"
}

// PauseOp is a planned `haup pause` or `haup resume`: the nodes it changes,
// checked against their facts.
type PauseOp struct {
	// Resume: a resume, else a pause.
	Resume bool
	For    time.Duration
	Reason string
	By     string
	// Nodes are the nodes changed, in inventory order, with their roles.
	Nodes []string
	roles map[string]string
	// Replaces is the maintenance in force that a pause replaces.
	Replaces *cluster.Maintenance
	now      time.Time
}

// Operator is who runs haup, as pause records and locks name them.
func Operator() string {
	host, _ := os.Hostname()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	return who + "@" + host
}

// PlanPause checks that every data node can be paused for d and returns the
// pause. It refuses a cluster with no primary (a pause would keep repmgrd
// from bringing writes back), a node whose database does not answer (its
// repmgrd would fail over once it starts, unpaused) and a node whose agent
// is not the one this haup installs (apply first).
func PlanPause(plan *Plan, d time.Duration, reason, by string, now time.Time) (*PauseOp, error) {
	if err := CheckPauseInput(d, reason); err != nil {
		return nil, err
	}
	op := &PauseOp{For: d, Reason: reason, By: by, roles: map[string]string{}, now: now}
	for _, np := range plan.Nodes {
		f := np.Facts
		role := f.Role()
		switch role {
		case nodeapi.RolePrimary, nodeapi.RoleStandby:
		default:
			why := role
			if why == "" {
				why = "unknown: " + f.DatabaseError
			}
			return nil, fmt.Errorf("refusing: %s's database does not answer (%s): its repmgrd cannot be paused, and would fail over once it starts; bring it back (or `haup rejoin %s`) first (nothing was changed)", np.Node.Name, why, np.Node.Name)
		}
		if agentPending(np) {
			return nil, fmt.Errorf("refusing: %s runs another haup-check than this haup installs: `haup apply` first (nothing was changed)", np.Node.Name)
		}
		op.Nodes = append(op.Nodes, np.Node.Name)
		op.roles[np.Node.Name] = role
	}
	if len(plan.View().Primaries) == 0 {
		return nil, errors.New("refusing: the cluster has no primary: a pause keeps repmgrd from promoting a standby, the only way writes come back by themselves; `haup status` says why there is none (nothing was changed)")
	}
	op.Replaces = planMaintenance(plan, now)
	return op, nil
}

// PlanResume returns the resume of every node whose failover is paused
// (for maintenance or left by a switchover), or refuses when none is.
func PlanResume(plan *Plan, now time.Time) (*PauseOp, error) {
	op := &PauseOp{Resume: true, roles: map[string]string{}, now: now}
	for _, np := range plan.Nodes {
		f := np.Facts
		if f.Database == nil || !f.Database.FailoverPaused && f.Database.Pause == nil {
			continue
		}
		if agentPending(np) {
			return nil, fmt.Errorf("refusing: %s runs another haup-check than this haup installs: `haup apply` first, which also resumes a pause that is not a maintenance (nothing was changed)", np.Node.Name)
		}
		op.Nodes = append(op.Nodes, np.Node.Name)
		op.roles[np.Node.Name] = f.Role()
	}
	if len(op.Nodes) == 0 {
		return nil, errors.New("refusing: automatic failover is not paused on any node: nothing to resume (nothing was changed)")
	}
	op.Replaces = planMaintenance(plan, now)
	return op, nil
}

// agentPending: the plan replaces the node's agent, so the one there may
// not know the steps the pause needs.
func agentPending(np *NodePlan) bool {
	for _, c := range np.Changes {
		if c.Kind == KindFile && c.Name == nodeapi.BinaryPath {
			return true
		}
	}
	return false
}

// Print writes the operation as a plan: each node's change and what it
// costs.
func (op *PauseOp) Print(w io.Writer) {
	nodes := append([]string(nil), op.Nodes...)
	sort.Strings(nodes)
	if op.Resume {
		fmt.Fprintln(w, "Resume automatic failover")
		if m := op.Replaces; m != nil {
			fmt.Fprintf(w, "  ends the %s\n", m.Line())
		}
		for _, n := range op.Nodes {
			fmt.Fprintf(w, "  ~ %s (%s): resume repmgrd's automatic failover; its scheduled resume (haup-resume-failover.timer) removed\n", n, cmp.Or(op.roles[n], "-"))
		}
		fmt.Fprintln(w, "\nCost: none: no restart, no reload, no switchover; clients see nothing.")
		fmt.Fprintln(w, "After it: a lost primary is failed over as usual.")
		return
	}
	until := op.now.Add(op.For).UTC().Format("2006-01-02 15:04:05Z")
	reason := op.Reason
	if reason == "" {
		reason = "no reason given"
	}
	fmt.Fprintf(w, "Pause automatic failover for maintenance: %s, until about %s (%s; by %s)\n", op.For, until, reason, op.By)
	if m := op.Replaces; m != nil {
		fmt.Fprintf(w, "  replaces the %s\n", m.Line())
	}
	for _, n := range op.Nodes {
		fmt.Fprintf(w, "  ~ %s (%s): pause repmgrd's automatic failover; it resumes by itself after %s (haup-resume-failover.timer on the node)\n", n, op.roles[n], op.For)
	}
	fmt.Fprintln(w, "\nCost: none: no restart, no reload, no switchover; clients see nothing.")
	fmt.Fprintln(w, "While paused: if the primary is lost, no standby is promoted: writes stop until the primary returns, or until `haup resume` (then repmgrd fails over as usual).")
	fmt.Fprintln(w, "haup status says degraded and names the pause; apply keeps it; switchover and drill refuse; a rejoined node is paused again.")
}

// Order is the nodes in the order a pause takes them: the standbys first,
// since they are the ones that would promote, then the primary.
func (op *PauseOp) Order() []string {
	order := append([]string(nil), op.Nodes...)
	sort.SliceStable(order, func(i, j int) bool {
		return op.roles[order[i]] != nodeapi.RolePrimary && op.roles[order[j]] == nodeapi.RolePrimary
	})
	return order
}

// maintenanceBlocksRolling keeps a maintenance pause from ending in a
// rolling change's switchover: the primary's container change stays as
// without a streaming standby (blocked without --allow-primary-restart,
// which restarts the primary in place: writes stop meanwhile, and no
// failover races it), and says why.
func maintenanceBlocksRolling(plan *Plan) bool {
	if planMaintenance(plan, time.Now()) == nil {
		return false
	}
	for _, np := range plan.Nodes {
		if r := np.recreation(); r != nil {
			r.maintenance = true
		}
	}
	return true
}
