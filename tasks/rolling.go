package tasks

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// RollingStep is one step of a rolling change: what it does and the node
// it acts on. The plan holds the steps (Plan.RollingSteps); apply takes
// them in order (applyRolling), and a test reads them.
type RollingStep struct {
	Kind RollingKind
	Node string
}

// RollingKind is what a step of a rolling change does.
type RollingKind int

// The kinds of step.
const (
	// RollStandby: a standby's container, then a wait until it streams
	// from the primary again.
	RollStandby RollingKind = iota
	// RollSwitchover: a switchover to the node, from the primary.
	RollSwitchover
	// RollOldPrimary: the old primary's container, then a wait until it
	// streams from the new primary.
	RollOldPrimary
	// RollExtensions: the extension updates the new image brings, on the
	// new primary.
	RollExtensions
)

// RollingSteps is the plan's rolling change step by step, or nil when the
// plan has none: each standby with a container change, the switchover,
// the old primary, the extensions.
func (p *Plan) RollingSteps() []RollingStep {
	from, to := p.Rolling()
	if from == nil {
		return nil
	}
	var steps []RollingStep
	for _, np := range p.Nodes {
		if np != from && np.hasStage(StageContainer) {
			steps = append(steps, RollingStep{RollStandby, np.Node.Name})
		}
	}
	return append(steps, RollingStep{RollSwitchover, to}, RollingStep{RollOldPrimary, from.Node.Name}, RollingStep{RollExtensions, to})
}

// rollingOrder is the plan's rolling change as diff's order of work says it.
func (p *Plan) rollingOrder() string {
	from, to := p.Rolling()
	var standbys, parts []string
	for _, s := range p.RollingSteps() {
		switch s.Kind {
		case RollStandby:
			standbys = append(standbys, s.Node)
		case RollSwitchover:
			if len(standbys) > 0 {
				parts = append(parts, strings.Join(standbys, ", ")+" first (standbys: each waits until it streams again)")
			}
			parts = append(parts, fmt.Sprintf("then a switchover %s -> %s (writes refused about 1-4 s; no acknowledged write lost)", from.Node.Name, to))
		case RollOldPrimary:
			parts = append(parts, "then "+s.Node+" as a standby of "+to+" (waits until it streams)")
		case RollExtensions:
			parts = append(parts, "then extension updates on "+s.Node+" when the image brings newer ones")
		}
	}
	return strings.Join(parts, ", ")
}

// rollingRun is what the steps of a rolling change need while apply takes
// them.
type rollingRun struct {
	plan  *Plan
	hosts Hosts
	opts  ApplyOptions
	// arm bounds the wait for a node's repmgrd after it streams (ArmTimeout
	// when zero).
	arm      time.Duration
	from, to string
	runStage func(Stage, []int) error
	progress func(node, format string, args ...any)
}

// applyRolling changes the primary's container without a failover: the
// standbys' containers first, one at a time, each waiting until it streams
// again; then a switchover to the target; then the old primary's container,
// as the target's standby; then the extension updates the new image brings,
// once, on the new primary.
func applyRolling(ctx context.Context, plan *Plan, hosts Hosts, opts ApplyOptions,
	runStage func(Stage, []int) error, progress func(node, format string, args ...any)) error {
	from, to := plan.Rolling()
	r := rollingRun{plan: plan, hosts: hosts, opts: opts, from: from.Node.Name, to: to, runStage: runStage, progress: progress}
	steps := plan.RollingSteps()
	for i, s := range steps {
		say := func(node, format string, args ...any) {
			progress(node, "rolling change, step %d of %d: %s", i+1, len(steps), fmt.Sprintf(format, args...))
		}
		if err := r.take(ctx, s, say); err != nil {
			return err
		}
	}
	return nil
}

// take carries out one step; say announces it.
func (r rollingRun) take(ctx context.Context, s RollingStep, say func(node, format string, args ...any)) error {
	switch s.Kind {
	case RollStandby:
		say(s.Node, "its container, then a wait until it streams from %s again", r.from)
		return r.container(ctx, s.Node, "waiting until it streams again", "the primary "+r.from+" is untouched")
	case RollSwitchover:
		say(s.Node, "switchover from %s: %s refuses writes, %s catches up and is promoted", r.from, r.from, s.Node)
		return r.switchover(ctx, s.Node)
	case RollOldPrimary:
		say(s.Node, "its container, then a wait until it streams from %s", r.to)
		return r.container(ctx, s.Node, "waiting until it streams from "+r.to, r.to+" is the primary")
	case RollExtensions:
		say(s.Node, "updating the extensions the new image brings")
		return r.extensions(ctx, s.Node)
	}
	return fmt.Errorf("rolling change: unknown step %d", s.Kind)
}

// container runs the node's container change, then waits until it streams;
// waiting is said while it waits, state in the error of that wait.
func (r rollingRun) container(ctx context.Context, node, waiting, state string) error {
	if err := r.runStage(StageContainer, []int{r.plan.Index(node)}); err != nil {
		return err
	}
	r.progress(node, "%s", waiting)
	if err := waitStreaming(ctx, r.hosts[node], r.opts); err != nil {
		return fmt.Errorf("%s: %w; %s", node, err, state)
	}
	// A node is done once its automatic failover works again.
	opts := r.opts
	opts.ReadyTimeout = cmp.Or(r.arm, ArmTimeout)
	if err := waitArmed(ctx, r.hosts[node], r.plan.Inventory.Database.Repmgr, opts); err != nil {
		return fmt.Errorf("%s: streams, but %w; %s", node, err, state)
	}
	return nil
}

// switchover makes to the primary, from the primary.
func (r rollingRun) switchover(ctx context.Context, to string) error {
	sw, err := PlanSwitchover(r.plan, to)
	if err != nil {
		return fmt.Errorf("rolling change: %w; the standbys are done, the primary %s is untouched", err, r.from)
	}
	res, err := runSwitchover(ctx, sw, r.hosts, r.opts.Progress, false)
	if err != nil {
		return fmt.Errorf("rolling change: switchover: %w", err)
	}
	r.progress(to, "the primary; writes were refused for %.1f s", res.Outage.Seconds())
	return nil
}

// extensions updates the extensions the new image brings, on node.
func (r rollingRun) extensions(ctx context.Context, node string) error {
	out, err := r.hosts[node].Exec(ctx, shq(nodeapi.BinaryPath)+" update-extensions\n")
	if err != nil {
		return fmt.Errorf("%s: update extensions: %w", node, err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out.Stdout)), "\n") {
		if l != "" {
			r.progress(node, "%s", l)
		}
	}
	return nil
}

// Index is the position of the named data node in p.Nodes, or -1.
func (p *Plan) Index(name string) int {
	for i, np := range p.Nodes {
		if np.Node.Name == name {
			return i
		}
	}
	return -1
}
