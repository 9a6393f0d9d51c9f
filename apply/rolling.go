package apply

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/tasks"
)

// rollingRun is what the steps of a rolling change need while apply takes
// them.
type rollingRun struct {
	plan  *tasks.Plan
	hosts tasks.Hosts
	opts  Options
	// arm bounds the wait for a node's repmgrd after it streams
	// (tasks.ArmTimeout when zero).
	arm      time.Duration
	from, to string
	runStage func(tasks.Stage, []int) error
	progress func(node, format string, args ...any)
}

// applyRolling changes the primary's container without a failover: the
// standbys' containers first, one at a time, each waiting until it streams
// again; then a switchover to the target; then the old primary's container,
// as the target's standby; then the extension updates the new image brings,
// once, on the new primary.
func applyRolling(ctx context.Context, plan *tasks.Plan, hosts tasks.Hosts, opts Options,
	runStage func(tasks.Stage, []int) error, progress func(node, format string, args ...any)) error {
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
func (r rollingRun) take(ctx context.Context, s tasks.RollingStep, say func(node, format string, args ...any)) error {
	switch s.Kind {
	case tasks.RollStandby:
		say(s.Node, "its container, then a wait until it streams from %s again", r.from)
		return r.container(ctx, s.Node, "waiting until it streams again", "the primary "+r.from+" is untouched")
	case tasks.RollSwitchover:
		say(s.Node, "switchover from %s: %s refuses writes, %s catches up and is promoted", r.from, r.from, s.Node)
		return r.switchover(ctx, s.Node)
	case tasks.RollOldPrimary:
		say(s.Node, "its container, then a wait until it streams from %s", r.to)
		return r.container(ctx, s.Node, "waiting until it streams from "+r.to, r.to+" is the primary")
	case tasks.RollExtensions:
		say(s.Node, "updating the extensions the new image brings")
		return r.extensions(ctx, s.Node)
	}
	return fmt.Errorf("rolling change: unknown step %d", s.Kind)
}

// container runs the node's container change, then waits until it streams;
// waiting is said while it waits, state in the error of that wait.
func (r rollingRun) container(ctx context.Context, node, waiting, state string) error {
	if err := r.runStage(tasks.StageContainer, []int{r.plan.Index(node)}); err != nil {
		return err
	}
	r.progress(node, "%s", waiting)
	if err := waitStreaming(ctx, r.hosts[node], r.opts); err != nil {
		return fmt.Errorf("%s: %w; %s", node, err, state)
	}
	// A node is done once its automatic failover works again.
	opts := r.opts
	opts.ReadyTimeout = cmp.Or(r.arm, tasks.ArmTimeout)
	if err := waitArmed(ctx, r.hosts[node], r.plan.Inventory.Database.Repmgr, opts); err != nil {
		return fmt.Errorf("%s: streams, but %w; %s", node, err, state)
	}
	return nil
}

// switchover makes to the primary, from the primary.
func (r rollingRun) switchover(ctx context.Context, to string) error {
	sw, err := tasks.PlanSwitchover(r.plan, to)
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
