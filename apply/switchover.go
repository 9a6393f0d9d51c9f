package apply

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
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// pauseFailover pauses repmgrd's failover on the nodes and returns the
// function that resumes it (idempotent; run it however the switchover ends).
func pauseFailover(ctx context.Context, nodes []string, hosts tasks.Hosts, say func(node, format string, args ...any)) (func(), error) {
	agent := shq(nodeapi.BinaryPath)
	var paused []string
	resume := func() {
		for _, n := range paused {
			if _, err := hosts[n].Exec(context.WithoutCancel(ctx), agent+" resume-failover -wait 30s\n"); err != nil {
				say(n, "repmgrd's failover could not be resumed (%v): it resumes by itself within %s; `haup status` shows it", err, tasks.PauseFor)
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
		say(n, "pausing repmgrd's automatic failover (resumes by itself in %s)", tasks.PauseFor)
		paused = append(paused, n)
		if _, err := h.Exec(ctx, fmt.Sprintf("%s pause-failover -for %s -why %s\n", agent, tasks.PauseFor, shq("switchover"))); err != nil {
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
func RunSwitchover(ctx context.Context, sw *tasks.Switchover, hosts tasks.Hosts, progress io.Writer) (SwitchoverResult, error) {
	return runSwitchover(ctx, sw, hosts, progress, true)
}

// runSwitchover is RunSwitchover; lock false is for a caller (apply) that
// holds the nodes' locks already.
func runSwitchover(ctx context.Context, sw *tasks.Switchover, hosts tasks.Hosts, w io.Writer, lock bool) (SwitchoverResult, error) {
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
			if err := waitReady(uctx, hf, Options{ReadyTimeout: 2 * time.Minute, PollInterval: 500 * time.Millisecond}); err != nil {
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
		ferr = waitStreaming(ctx, hf, Options{Progress: rep, ReadyTimeout: 60 * time.Second, PollInterval: 500 * time.Millisecond})
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
	if err := waitArmed(ctx, hf, sw.Inventory.Database.Repmgr, Options{Progress: rep, ReadyTimeout: tasks.ArmTimeout, PollInterval: 500 * time.Millisecond}); err != nil {
		say(from, "%v: no automatic failover if %s is lost until it does; `haup status` shows it", err, to)
		return res, nil
	}
	say(from, "its repmgrd watches %s: automatic failover armed", to)
	return res, nil
}
