package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/poll"
	"github.com/haup-project/haup/internal/progress"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// Switchover is a planned role change from the current primary to a
// streaming standby, checked against the cluster's facts.
type Switchover struct {
	From, To     *NodePlan
	LagBytes     int64
	CheckSeconds int
	// VIP is the virtual address the new primary takes over.
	VIP string
	// Inventory is the inventory the switchover was planned from.
	Inventory *inventory.Inventory
}

// PlanSwitchover checks that a switchover to node to (or, when empty, to the
// only standby) can lose no acknowledged write, and returns it. It refuses a
// cluster that is not healthy, with the reason.
func PlanSwitchover(plan *Plan, to string) (*Switchover, error) {
	// A target the inventory does not name is bad input, whatever the
	// cluster's state.
	if to != "" {
		var names []string
		found := false
		for _, n := range plan.Inventory.Nodes {
			names = append(names, n.Name)
			found = found || n.Name == to
		}
		if !found {
			return nil, fmt.Errorf("no node %q in the inventory (its database nodes: %s)", to, strings.Join(names, ", "))
		}
	}
	if m := planMaintenance(plan, time.Now()); m != nil {
		return nil, fmt.Errorf("refusing: %s; a switchover resumes repmgrd's failover when it ends, which would end the maintenance: `haup resume` first (and `haup pause` again after)", m.Line())
	}
	v := plan.View()
	if len(v.Fenced) > 0 {
		np := plan.nodePlan(v.Fenced[0])
		return nil, fmt.Errorf("refusing: %s is fenced (%s); let it rejoin first", np.Node.Name, np.Facts.Fence.State)
	}
	primary, ok := v.OnlyPrimary()
	holder, one := v.VIPHolder()
	switch {
	case !ok:
		return nil, fmt.Errorf("refusing: the cluster has %d primaries; a switchover needs exactly one", len(v.Primaries))
	case len(v.VIPHolders) == 0:
		return nil, fmt.Errorf("refusing: no node holds the VIP %s", plan.Inventory.Keepalived.VirtualIPAddress)
	case !one || holder != primary.Name:
		return nil, fmt.Errorf("refusing: the VIP is not on the primary %s alone", primary.Name)
	}
	from := plan.nodePlan(primary.Name)
	sw := &Switchover{From: from, CheckSeconds: plan.Inventory.Keepalived.Check.Interval, VIP: desired.VIPAddr(plan.Inventory), Inventory: plan.Inventory}
	if to == "" {
		// The target by default: the only other node (whatever its state,
		// which is checked below), else the only standby.
		var others []*NodePlan
		for _, np := range plan.Nodes {
			if np != from {
				others = append(others, np)
			}
		}
		switch {
		case len(others) == 1:
			to = others[0].Node.Name
		case len(v.Standbys) == 1:
			to = v.Standbys[0]
		default:
			return nil, fmt.Errorf("refusing: %d standbys; name the target with --to", len(v.Standbys))
		}
	}
	sw.To = plan.nodePlan(to)
	target, _ := v.Node(to)
	switch {
	case sw.To == nil:
		return nil, fmt.Errorf("no node %q in the inventory", to)
	case sw.To == sw.From:
		return nil, fmt.Errorf("refusing: %s is already the primary", to)
	case !target.Streaming:
		state := sw.To.Facts.Role()
		if state == "" {
			state = "unknown: " + sw.To.Facts.DatabaseError
		} else if state == nodeapi.RoleStandby {
			state = "a standby that does not stream"
		}
		return nil, fmt.Errorf("refusing: %s is not a streaming standby (%s)", to, state)
	}
	sw.LagBytes = sw.To.Facts.Database.Replication[0].LagBytes
	return sw, nil
}

// Print writes the switchover's plan with its consequences.
func (sw *Switchover) Print(w io.Writer) {
	from, to := sw.From.Node.Name, sw.To.Node.Name
	fmt.Fprintf(w, "Switchover %s -> %s (%s replays %d bytes behind now)\n", from, to, to, sw.LagBytes)
	steps := []string{
		fmt.Sprintf("%s: pause repmgrd's automatic failover (it would race the promotion below; it resumes by itself after %s if haup is interrupted)", strings.Join(sw.PauseNodes(), ", "), PauseFor),
		fmt.Sprintf("%s: refuse writes (client sessions ended, new transactions read-only); writes through the VIP fail from here. %s keeps the VIP at the lowest priority until step 6 (at most %d s), so new connections are refused at once rather than sent to an address nobody holds", from, from, int(nodeapi.HandoverFor.Seconds())),
		fmt.Sprintf("%s: stop its database cleanly inside the running container (a shutdown checkpoint, its last WAL sent to %s)", from, to),
		fmt.Sprintf("%s: wait until it has received and replayed all of %s's WAL (at most 30 s, else %s starts again and takes writes, and nothing else changes)", to, from, from),
		fmt.Sprintf("%s: promote (a new timeline), recorded in repmgr's metadata", to),
		fmt.Sprintf("the VIP moves to %s: its check passes (within one check interval, %d s) and it takes the VIP over from %s; writes succeed again", to, sw.CheckSeconds, from),
		fmt.Sprintf("%s: resume repmgrd's automatic failover", strings.Join(sw.PauseNodes(), ", ")),
		fmt.Sprintf("%s: start its database as a standby of %s inside the running container, without the image's entrypoint and without a clone (its WAL ends where %s's timeline begins); a full clone, its data kept aside, only if it does not stream within 60 s", from, to, to),
		fmt.Sprintf("%s: wait until its repmgrd watches %s (automatic failover armed again; at most %.0f s, else haup says so, and `haup status` shows it)", from, to, ArmTimeout.Seconds()),
	}
	for i, s := range steps {
		fmt.Fprintf(w, "  %d. %s\n", i+1, s)
	}
	fmt.Fprintf(w, "\nWrite outage: from step 2 to step 6, about 1-%d s. No acknowledged write is lost.\n", sw.CheckSeconds+2)
}

// PauseFor bounds a switchover's pause of repmgrd: longer than its steps
// up to the VIP move may take (stop 60 s, catch-up 30 s, promote and VIP 60 s
// each at most), and than an undo after them (2 min), with room to spare.
const PauseFor = 10 * time.Minute

// ArmTimeout bounds apply's wait for a standby's repmgrd to reach its
// upstream after its database started: a pass of repmgrd takes
// monitor_interval, then a ping bounded by connect_timeout, and the
// standby's check resets stuck connections after desired.RepmgrdStaleS; a
// minute is several of each.
const ArmTimeout = time.Minute

// FollowConninfo is the connection the old primary starts with as the new
// primary's standby.
func (sw *Switchover) FollowConninfo() string {
	return followConninfo(sw.Inventory, sw.To.Node, sw.From.Node.Name)
}

// PauseNodes are the nodes whose repmgrd could promote a standby while the
// old primary is stopped: every node but the old primary.
func (sw *Switchover) PauseNodes() []string {
	var out []string
	for _, n := range sw.Inventory.Nodes {
		if n.Name != sw.From.Node.Name {
			out = append(out, n.Name)
		}
	}
	return out
}

// pauseFailover pauses repmgrd's failover on the nodes and returns the
// function that resumes it (idempotent; run it however the switchover ends).
func pauseFailover(ctx context.Context, nodes []string, hosts Hosts, say func(node, format string, args ...any)) (func(), error) {
	agent := shq(nodeapi.BinaryPath)
	var paused []string
	resume := func() {
		for _, n := range paused {
			if _, err := hosts[n].Exec(context.WithoutCancel(ctx), agent+" resume-failover -wait 30s\n"); err != nil {
				say(n, "repmgrd's failover could not be resumed (%v): it resumes by itself within %s; `haup status` shows it", err, PauseFor)
			} else {
				say(n, "repmgrd's automatic failover resumed")
			}
		}
		paused = nil
	}
	for _, n := range nodes {
		h := hosts[n]
		if h == nil {
			resume()
			return nil, fmt.Errorf("%s is not reachable: its repmgrd's failover cannot be paused, and it could race the promotion (nothing was changed)", n)
		}
		say(n, "pausing repmgrd's automatic failover (resumes by itself in %s)", PauseFor)
		paused = append(paused, n)
		if _, err := h.Exec(ctx, fmt.Sprintf("%s pause-failover -for %s -why %s\n", agent, PauseFor, shq("switchover"))); err != nil {
			resume()
			return nil, fmt.Errorf("%s: pause repmgrd's failover: %w (nothing else was changed)", n, err)
		}
	}
	return resume, nil
}

// SwitchoverResult is what a switchover measured.
type SwitchoverResult struct {
	// Outage runs from the demotion to the VIP on the new primary.
	Outage time.Duration
	Rejoin time.Duration
	// FullClone: the old primary did not stream without a clone and was
	// re-cloned.
	FullClone bool
}

// RunSwitchover carries the switchover out over haup's own connections. If
// anything fails before the promotion, the old primary takes writes again; if
// anything fails after it, the new primary stays the one writable primary and
// the error says how to finish.
func RunSwitchover(ctx context.Context, sw *Switchover, hosts Hosts, progress io.Writer) (SwitchoverResult, error) {
	return runSwitchover(ctx, sw, hosts, progress, true)
}

// runSwitchover is RunSwitchover; lock false is for a caller (apply) that
// holds the nodes' locks already.
func runSwitchover(ctx context.Context, sw *Switchover, hosts Hosts, w io.Writer, lock bool) (SwitchoverResult, error) {
	var res SwitchoverResult
	from, to := sw.From.Node.Name, sw.To.Node.Name
	hf, ht := hosts[from], hosts[to]
	rep := progress.From(w)
	say := rep.Printf
	if lock {
		l, err := newNodeLock("switchover")
		if err != nil {
			return res, err
		}
		for _, h := range []remote.Host{hf, ht} {
			if err := l.acquire(ctx, h); err != nil {
				return res, fmt.Errorf("%s: %w (nothing was changed)", h.Name(), err)
			}
			defer l.release(context.WithoutCancel(ctx), h)
		}
	}
	// The record on both nodes, before anything changes, lets the next
	// plan finish or undo a switchover killed at any step.
	rec := newOpRecord("switchover", from, to)
	if err := rec.begin(ctx, probe.StepPause, hf, ht); err != nil {
		return res, fmt.Errorf("%w (nothing was changed)", err)
	}
	ended := func() {
		if err := rec.end(context.WithoutCancel(ctx), hf, ht); err != nil {
			say(from, "the switchover ended, but its record stays (%v): the next `haup apply` removes it", err)
		}
	}
	resume, err := pauseFailover(ctx, sw.PauseNodes(), hosts, say)
	if err != nil {
		ended()
		return res, err
	}
	defer resume()
	agent := shq(nodeapi.BinaryPath)
	start := time.Now()
	say(from, "refusing writes")
	out, err := hf.Exec(ctx, rec.script(probe.StepDemote)+agent+" demote\n")
	if err != nil {
		return res, fmt.Errorf("%s: demote: %w (check %s: it may refuse writes; `haup-check undemote` on it lifts that)", from, err, from)
	}
	lsn := strings.TrimSpace(string(out.Stdout))
	// undo gives the old primary its writes back: its database started
	// again if it was stopped, then the read-only setting lifted.
	stopped := false
	undo := func(cause error) error {
		uctx := context.WithoutCancel(ctx)
		if stopped {
			if _, err := hf.Exec(uctx, agent+" start-database -timeout 60s\n"); err != nil {
				return fmt.Errorf("%w; and %s's database could not be started again: %v: start it (haup-check start-database) and run `haup-check undemote` on it", cause, from, err)
			}
			if err := waitReady(uctx, hf, ApplyOptions{ReadyTimeout: 2 * time.Minute, PollInterval: 500 * time.Millisecond}); err != nil {
				return fmt.Errorf("%w; and %s's database did not come back: %v", cause, from, err)
			}
		}
		if _, err := hf.Exec(uctx, agent+" undemote\n"); err != nil {
			return fmt.Errorf("%w; and %s could not take writes again: %v: `haup apply` undoes the switchover", cause, from, err)
		}
		ended()
		return fmt.Errorf("%w; switchover stopped, %s takes writes again and stays the primary", cause, from)
	}
	say(from, "stopping its database cleanly")
	stopped = true
	if _, err := hf.Exec(ctx, rec.script(probe.StepStop)+agent+" stop-database -timeout 60s\n"); err != nil {
		return res, undo(fmt.Errorf("%s: stop: %w", from, err))
	}
	say(to, "waiting until it has received and replayed all of %s's WAL (at least %s)", from, lsn)
	stop := startWatch(ctx, watchCatchUp(lsn, from), ht, rep)
	_, err = ht.Exec(ctx, rec.script(probe.StepCatchUp)+agent+" wait-caught-up -timeout 30s "+shq(lsn)+"\n")
	stop()
	if err != nil {
		return res, undo(fmt.Errorf("%s: %w", to, err))
	}
	say(to, "promoting")
	if _, err := ht.Exec(ctx, rec.script(probe.StepPromote)+agent+" promote "+shq(from)+"\n"+rec.script(probe.StepVIP)); err != nil {
		// Promoted or not? Only a node that is not a primary may be undone.
		if r, cerr := ht.Exec(ctx, agent+" -json || true\n"); cerr == nil && strings.Contains(string(r.Stdout), `"role":"primary"`) {
			return res, fmt.Errorf("%s: promoted, but: %w; %s is the primary now, `haup apply` finishes the switchover", to, err, to)
		}
		return res, undo(fmt.Errorf("%s: promote: %w", to, err))
	}
	vipCheck := fmt.Sprintf("ip -o -4 addr show dev %s | grep -qF ' %s/'\n", shq(sw.To.Node.Interface), sw.VIP)
	switch err := poll.Until(ctx, 60*time.Second, 100*time.Millisecond, func() (bool, error) {
		_, err := ht.Exec(ctx, vipCheck)
		return err == nil, nil
	}); {
	case errors.Is(err, poll.ErrTimeout):
		return res, fmt.Errorf("%s is the primary but did not take the VIP within 60 s: see `haup status`", to)
	case err != nil:
		return res, fmt.Errorf("%s is the primary; waiting for it to take the VIP: %w", to, err)
	}
	res.Outage = time.Since(start)
	say(to, "holds the VIP %.1f s after writes were refused on %s", res.Outage.Seconds(), from)
	resume()
	rj := time.Now()
	say(from, "starting as a standby of %s, without a clone", to)
	_, ferr := hf.Exec(ctx, rec.script(probe.StepFollow)+agent+" follow -timeout 60s "+shq(sw.FollowConninfo())+"\n")
	if ferr == nil {
		ferr = waitStreaming(ctx, hf, ApplyOptions{Progress: rep, ReadyTimeout: 60 * time.Second, PollInterval: 500 * time.Millisecond})
	}
	if ferr != nil {
		say(from, "does not stream without a clone (%v): re-cloning, its data kept aside", ferr)
		res.FullClone = true
		stop := startWatch(ctx, watchClone(desired.DBAddress(sw.From.Node)), hf, rep)
		_, err := hf.Exec(ctx, "systemctl start "+nodeapi.RejoinUnit+"\n")
		stop()
		if err != nil {
			return res, fmt.Errorf("%s: rejoin: %w; %s is the primary; `haup apply` finishes the switchover", from, err, to)
		}
	}
	ended()
	res.Rejoin = time.Since(rj)
	say(from, "streams from %s", to)
	// Until the old primary's repmgrd watches the new primary, no standby
	// is promoted if the new primary is lost: the switchover is not done
	// before. A repmgrd that does not get there is said, not undone: the
	// switchover itself is over, and `haup diff` shows the wait.
	if err := waitArmed(ctx, hf, sw.Inventory.Database.Repmgr, ApplyOptions{Progress: rep, ReadyTimeout: ArmTimeout, PollInterval: 500 * time.Millisecond}); err != nil {
		say(from, "%v: no automatic failover if %s is lost until it does; `haup status` shows it", err, to)
		return res, nil
	}
	say(from, "its repmgrd watches %s: automatic failover armed", to)
	return res, nil
}
