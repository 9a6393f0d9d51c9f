package apply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/tasks"
)

// RunPause pauses every node, standbys first, under the nodes' locks. A
// node that fails undoes the pauses already made: all or nothing.
func RunPause(ctx context.Context, op *tasks.PauseOp, hosts tasks.Hosts, progress io.Writer) error {
	say := func(node, format string, args ...any) {
		fmt.Fprintf(progress, "%s: %s\n", node, fmt.Sprintf(format, args...))
	}
	release, err := lockNodes(ctx, op, hosts, "pause")
	if err != nil {
		return err
	}
	defer release()
	agent := shq(nodeapi.BinaryPath)
	var done []string
	for _, n := range op.Order() {
		say(n, "pausing repmgrd's automatic failover for %s", op.For)
		script := fmt.Sprintf("%s pause-failover -for %s -kind %s -why %s -by %s\n", agent, op.For, nodeapi.PauseMaintenance, shq(op.Reason), shq(op.By))
		if _, err := hosts[n].Exec(ctx, script); err != nil {
			if op.Replaces != nil {
				// Undoing would end the earlier maintenance too: the
				// nodes stay paused, some until the new time.
				return fmt.Errorf("%s: pause: %w; %s paused anew for %s, the others keep the earlier pause: `haup status` shows each, `haup pause` again or `haup resume`", n, err, cmp.Or(strings.Join(done, ", "), "-"), op.For)
			}
			if undo := resumeNodes(context.WithoutCancel(ctx), done, hosts, say); undo != nil {
				return fmt.Errorf("%s: pause: %w; and undoing the pauses already made failed: %v (each resumes by itself within %s)", n, err, undo, op.For)
			}
			return fmt.Errorf("%s: pause: %w; the nodes paused before were resumed: nothing was changed", n, err)
		}
		done = append(done, n)
	}
	return nil
}

// RunResume resumes every node of op, under the nodes' locks; a node that
// fails is named, with when it resumes by itself.
func RunResume(ctx context.Context, op *tasks.PauseOp, hosts tasks.Hosts, progress io.Writer) error {
	say := func(node, format string, args ...any) {
		fmt.Fprintf(progress, "%s: %s\n", node, fmt.Sprintf(format, args...))
	}
	release, err := lockNodes(ctx, op, hosts, "resume")
	if err != nil {
		return err
	}
	defer release()
	return resumeNodes(ctx, op.Nodes, hosts, say)
}

// resumeNodes resumes repmgrd's failover on the nodes, each tried whatever
// the others did; the errors are joined, each naming its node.
func resumeNodes(ctx context.Context, nodes []string, hosts tasks.Hosts, say func(node, format string, args ...any)) error {
	var errs []error
	for _, n := range nodes {
		if _, err := hosts[n].Exec(ctx, shq(nodeapi.BinaryPath)+" resume-failover -wait 30s\n"); err != nil {
			errs = append(errs, fmt.Errorf("%s: resume: %w (its own timer still resumes it; `haup status` shows it)", n, err))
			continue
		}
		say(n, "repmgrd's automatic failover resumed")
	}
	return errors.Join(errs...)
}

// lockNodes takes the lock of every node of op (two runs never interleave
// with a switchover or an apply) and returns its release.
func lockNodes(ctx context.Context, op *tasks.PauseOp, hosts tasks.Hosts, command string) (func(), error) {
	l, err := newNodeLock(command)
	if err != nil {
		return nil, err
	}
	var held []string
	release := func() {
		for _, n := range held {
			l.release(context.WithoutCancel(ctx), hosts[n])
		}
	}
	for _, n := range op.Nodes {
		h := hosts[n]
		if h == nil {
			release()
			return nil, fmt.Errorf("%s is not connected (nothing was changed)", n)
		}
		if err := l.acquire(ctx, h); err != nil {
			release()
			return nil, fmt.Errorf("%s: %w (nothing was changed)", n, err)
		}
		held = append(held, n)
	}
	return release, nil
}
