// Package apply carries a plan out on the nodes: the plan (package tasks)
// says what changes and in which stage, apply makes each change over the
// node's connection (run: one task, as scripts and uploads), stage by stage,
// each node under its lock and with its record of the run, and reports
// long waits as they go. The operations that are not plans of changes (a
// switchover, a maintenance pause and its resume, a promotion) are carried
// out here too, from what tasks decided. The imports go one way: apply
// imports tasks, never the other way round.
package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/haup-project/haup/cluster"
	"github.com/haup-project/haup/internal/poll"
	"github.com/haup-project/haup/internal/progress"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/status"
	"github.com/haup-project/haup/tasks"
)

// Recap counts, per node, what apply did.
type Recap struct {
	Node    string
	OK      int // managed resources already in the desired state
	Changed int
	Failed  int
	Err     error
}

// PrintRecap writes apply's per-node recap.
func PrintRecap(w io.Writer, recaps []Recap) {
	for _, r := range recaps {
		fmt.Fprintf(w, "%-16s ok=%d changed=%d failed=%d\n", r.Node, r.OK, r.Changed, r.Failed)
	}
}

// Options tunes Apply and its waits.
type Options struct {
	// Progress receives "node: ..." lines.
	Progress io.Writer
	// ReadyTimeout bounds the wait for the first database to answer before
	// the other nodes' containers start.
	ReadyTimeout time.Duration
	// PollInterval is how often readiness is asked.
	PollInterval time.Duration
	// Operation names the run in the nodes' apply record ("apply" when
	// empty; "rejoin"...).
	Operation string
}

// Apply carries out exactly the changes of plan. Nodes work in parallel
// within a stage; every node finishes a stage before the next one starts, and
// a failure stops the stages that follow. Containers start on the node that
// is (or will be) the primary first, and the others only once its database
// answers, so standbys find a primary to clone from.
func Apply(ctx context.Context, plan *tasks.Plan, hosts tasks.Hosts, opts Options) ([]Recap, error) {
	if err := plan.Blocked(); err != nil {
		return nil, fmt.Errorf("the plan has changes that need a flag, nothing was changed:\n%w", err)
	}
	rep := progress.From(opts.Progress)
	opts.Progress = rep
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 5 * time.Minute
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	recaps := make([]Recap, len(plan.All()))
	for i, n := range plan.All() {
		recaps[i] = Recap{Node: n.Node.Name, OK: n.Resources - len(n.Changes)}
	}
	var mu sync.Mutex
	progress := rep.Printf
	// runStage runs the changes of stage s on the nodes at idx, in parallel.
	runStage := func(s tasks.Stage, idx []int) error {
		// Every node's error: a failure on one node does not stop the
		// others' changes, and each node's recap tells what it did.
		var wg sync.WaitGroup
		for _, i := range idx {
			np := plan.Nodes[i]
			wg.Go(func() {
				for _, c := range np.Changes {
					if c.Stage() != s {
						continue
					}
					progress(np.Node.Name, "%s", c)
					stop := startWatch(ctx, watchOf(c.Task()), hosts[np.Node.Name], rep)
					err := run(ctx, hosts[np.Node.Name], c.Task())
					stop()
					if err != nil {
						mu.Lock()
						recaps[i].Failed++
						recaps[i].Err = err
						mu.Unlock()
						progress(np.Node.Name, "failed: %v", err)
						return
					}
					mu.Lock()
					recaps[i].Changed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		var errs []error
		for _, i := range idx {
			if recaps[i].Err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", recaps[i].Node, recaps[i].Err))
			}
		}
		return errors.Join(errs...)
	}
	all := make([]int, len(plan.Nodes))
	for i := range all {
		all[i] = i
	}
	// Every node with changes is locked before the first change and
	// released at the end, whatever happens; a lock left by a run that was
	// killed is taken over once its holder is gone.
	lock, err := newNodeLock("apply")
	if err != nil {
		return recaps, err
	}
	var locked []remote.Host
	defer func() {
		for _, h := range locked {
			lock.release(context.WithoutCancel(ctx), h)
		}
	}()
	var lockErrs []error
	for _, np := range plan.All() {
		if len(np.Changes) == 0 {
			continue
		}
		h := hosts[np.Node.Name]
		if err := lock.acquire(ctx, h); err != nil {
			lockErrs = append(lockErrs, fmt.Errorf("%s: %w", np.Node.Name, err))
			continue
		}
		locked = append(locked, h)
	}
	if err := errors.Join(lockErrs...); err != nil {
		return recaps, fmt.Errorf("nothing was changed:\n%w", err)
	}
	// The record of this run on every node it changes, brought up to
	// date at each stage and removed at the end: a run killed or failed
	// half-way leaves it for the next plan and for status to name.
	kind := opts.Operation
	if kind == "" {
		kind = "apply"
	}
	rec := newApplyRecord(kind)
	stepTo := func(step string, stages ...tasks.Stage) error {
		if len(locked) == 0 || !plan.HasStage(stages...) {
			return nil
		}
		return rec.step(ctx, step, locked)
	}
	if err := stepTo("packages, directories, files, images", tasks.StageHost, tasks.StagePassword, tasks.StageSwap, tasks.StageContainer, tasks.StageRejoin, tasks.StageService); err != nil {
		return recaps, fmt.Errorf("nothing was changed:\n%w", err)
	}
	if err := runStage(tasks.StageHost, all); err != nil {
		return recaps, err
	}
	if err := runStage(tasks.StagePassword, all); err != nil {
		return recaps, err
	}
	if err := runStage(tasks.StageSwap, all); err != nil {
		return recaps, err
	}
	if err := stepTo("containers", tasks.StageContainer); err != nil {
		return recaps, err
	}
	if from, _ := plan.Rolling(); from != nil {
		if err := applyRolling(ctx, plan, hosts, opts, runStage, progress); err != nil {
			return recaps, err
		}
	} else if err := applyContainers(ctx, plan, hosts, opts, runStage, progress, recaps); err != nil {
		return recaps, err
	}
	if err := stepTo("rejoins", tasks.StageRejoin); err != nil {
		return recaps, err
	}
	if err := runStage(tasks.StageRejoin, all); err != nil {
		return recaps, err
	}
	// For the end-to-end tests of an interrupted apply: kill -9 of this
	// process in the window between the files and the reloads.
	if os.Getenv("HAUP_TEST_KILL_BEFORE_SERVICES") == "1" {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	if err := stepTo("services (keepalived, units)", tasks.StageService); err != nil {
		return recaps, err
	}
	if err := runStage(tasks.StageService, all); err != nil {
		return recaps, err
	}
	// The witness last: it registers with the primary, which runs by now.
	if w := plan.Witness; w != nil {
		i := len(plan.Nodes)
		for _, c := range w.Changes {
			progress(w.Node.Name, "%s", c)
			stop := startWatch(ctx, watchOf(c.Task()), hosts[w.Node.Name], rep)
			err := run(ctx, hosts[w.Node.Name], c.Task())
			stop()
			if err != nil {
				recaps[i].Failed++
				recaps[i].Err = err
				progress(w.Node.Name, "failed: %v", err)
				return recaps, fmt.Errorf("%s: %w", w.Node.Name, err)
			}
			recaps[i].Changed++
		}
	}
	if len(locked) == 0 {
		return recaps, nil
	}
	if err := rec.end(ctx, locked...); err != nil {
		return recaps, err
	}
	return recaps, nil
}

// applyContainers starts the containers: the primary's (or the initial
// primary's) first, the others once its database answers.
func applyContainers(ctx context.Context, plan *tasks.Plan, hosts tasks.Hosts, opts Options, runStage func(tasks.Stage, []int) error,
	progress func(node, format string, args ...any), recaps []Recap) error {
	first, rest := plan.ContainerOrder()
	if first >= 0 {
		if err := runStage(tasks.StageContainer, []int{first}); err != nil {
			return err
		}
		np := plan.Nodes[first]
		if len(rest) > 0 {
			progress(np.Node.Name, "waiting for the database to answer before starting the other nodes")
			if err := waitReady(ctx, hosts[np.Node.Name], opts); err != nil {
				recaps[first].Failed++
				return fmt.Errorf("%s: %w", np.Node.Name, err)
			}
		}
	}
	return runStage(tasks.StageContainer, rest)
}

// awaitStatus asks the node's agent for its status (the database's role,
// replication, repmgrd) until judge says it is what the caller waits for,
// or opts.ReadyTimeout passes (poll.ErrTimeout). judge also says the state
// seen, which a long wait shows on opts.Progress when shown names the
// wait ("" shows nothing); last is the state last seen, for the caller's
// error. An answer that is not the agent's JSON is a state too. A node that
// cannot be asked fails at once: "wait for WHAT: error".
func awaitStatus(ctx context.Context, h remote.Host, opts Options, what, shown string, judge func(nodeapi.StatusReport) (done bool, state string)) (last string, err error) {
	script := shq(nodeapi.BinaryPath) + " -status repmgr || true\n"
	var task *progress.Task
	if shown != "" {
		task = progress.From(opts.Progress).Start(h.Name(), shown)
		defer task.Stop()
	}
	err = poll.Until(ctx, opts.ReadyTimeout, opts.PollInterval, func() (bool, error) {
		res, err := h.Exec(ctx, script)
		if err != nil {
			return false, fmt.Errorf("wait for %s: %w", what, err)
		}
		var st nodeapi.StatusReport
		if jerr := json.Unmarshal(res.Stdout, &st); jerr != nil {
			last = "not the agent's answer (" + jerr.Error() + "): " + strings.TrimSpace(string(res.Stdout)+" "+string(res.Stderr))
		} else {
			var done bool
			if done, last = judge(st); done {
				return true, nil
			}
		}
		if task != nil {
			task.Status("%s", last)
		}
		return false, nil
	})
	return last, err
}

// settlingNote is what a status answer says of the image's setup.
func settlingNote(st nodeapi.StatusReport) string {
	if st.Settling {
		return " (the image's setup still runs)"
	}
	return ""
}

// waitStreaming polls the node until its database streams from a primary;
// a long wait is reported on opts.Progress with the state last seen.
func waitStreaming(ctx context.Context, h remote.Host, opts Options) error {
	last, err := awaitStatus(ctx, h, opts, "streaming", "not streaming yet", func(st nodeapi.StatusReport) (bool, string) {
		return cluster.Streams(st.Role, st.Replication) && !st.Settling, st.Role + " " + st.Reason + settlingNote(st)
	})
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("not streaming within %s (last: %s)", opts.ReadyTimeout, last)
	}
	return err
}

// waitArmed polls a standby until its repmgrd watches its upstream again,
// judged as `haup status` judges it (status.RepmgrdNote): after its database
// starts (a switchover, a rejoin, a restart) repmgrd needs a pass or two,
// and until then no standby is promoted if the primary is lost. A node that
// answers as anything but a standby ends the wait: repmgrd's upstream is a
// standby's.
func waitArmed(ctx context.Context, h remote.Host, r inventory.Repmgr, opts Options) error {
	last, err := awaitStatus(ctx, h, opts, "repmgrd", "waiting for repmgrd to reach its upstream", func(st nodeapi.StatusReport) (bool, string) {
		switch {
		case st.Role != nodeapi.RoleStandby:
			return true, ""
		case st.Repmgrd == nil && st.StatusError != "":
			return false, "repmgr's metadata cannot be read (" + st.StatusError + ")"
		case st.Repmgrd == nil:
			return false, "repmgr's metadata cannot be read"
		}
		note := status.RepmgrdNote(st.Repmgrd, r)
		return note == "", note
	})
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("repmgrd has not reached its upstream within %s (last: %s); the logs of the node's database container say why", opts.ReadyTimeout, last)
	}
	return err
}

// waitReady polls the node's health check until its database answers as
// primary or standby.
func waitReady(ctx context.Context, h remote.Host, opts Options) error {
	last, err := awaitStatus(ctx, h, opts, "database", "", func(st nodeapi.StatusReport) (bool, string) {
		return (st.Role == nodeapi.RolePrimary || st.Role == nodeapi.RoleStandby) && !st.Settling, st.Reason + settlingNote(st)
	})
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("the database did not answer within %s (last check: %s)", opts.ReadyTimeout, last)
	}
	return err
}
