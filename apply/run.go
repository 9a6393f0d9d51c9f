package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// run carries the task t out on the node h: the one place where each kind
// of work the plan holds becomes scripts and uploads. A type it does not
// know is an error naming it.
func run(ctx context.Context, h remote.Host, t tasks.Task) error {
	switch t := t.(type) {
	case tasks.ExecStep:
		if _, err := h.Exec(ctx, t.Script); err != nil {
			return &remote.StepError{Host: h.Name(), Step: t.Step, Err: err}
		}
		return nil
	case tasks.Nothing:
		return nil
	case tasks.InstallKeepalived:
		return execFor(ctx, h, "install keepalived", installKeepalived)
	case tasks.MakeDir:
		d := t.Dir
		p := shq(d.Path)
		return execFor(ctx, h, "dir "+d.Path, fmt.Sprintf("mkdir -p %s && chown %d:%d %s && chmod %04o %s\n", p, d.UID, d.GID, p, d.Mode, p))
	case tasks.ChmodFile:
		f := t.File
		p := shq(f.Path)
		return execFor(ctx, h, "file "+f.Path, fmt.Sprintf("chown %d:%d %s && chmod %04o %s\n", f.UID, f.GID, p, f.Mode, p))
	case tasks.InstallFile:
		return installFile(ctx, h, t.File)
	case tasks.PullImage:
		return execFor(ctx, h, "pull "+t.Image, pullScript(t.Image))
	case tasks.RunContainer:
		return runContainer(ctx, h, t.Spec, t.Replace)
	case tasks.StartContainer:
		return execFor(ctx, h, "start container "+t.Name, "docker start "+shq(t.Name)+" >/dev/null\n")
	case tasks.ResetWitness:
		script := "docker rm -f " + shq(t.Spec.Name) + " >/dev/null 2>&1; find " + shq(t.DataDir) + " -mindepth 1 -delete\n"
		if err := execFor(ctx, h, "reset the witness", script); err != nil {
			return err
		}
		return runContainer(ctx, h, t.Spec, false)
	case tasks.FinishVerifyFull:
		return finishVerifyFull(ctx, h, t)
	case tasks.ReloadTLS:
		return reloadTLS(ctx, h, t.Container)
	case tasks.SwapPassword:
		_, err := h.Exec(ctx, "mv -f "+shq(t.Staged)+" "+shq(t.Live)+"\n")
		return err
	case tasks.SetPassword:
		_, err := h.Exec(ctx, shq(nodeapi.BinaryPath)+" set-password -role "+shq(t.Role)+" -file "+shq(t.File)+"\n")
		return err
	case tasks.Rejoin:
		return rejoin(ctx, h, t.Repmgr)
	case tasks.Follow:
		return follow(ctx, h, t)
	case tasks.ReplaceHBA:
		return replaceHBA(ctx, h, t)
	}
	return fmt.Errorf("no way to carry out a task of type %T", t)
}

// execFor runs script on the node; a failure reads "what: error".
func execFor(ctx context.Context, h remote.Host, what, script string) error {
	if _, err := h.Exec(ctx, script); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// installFile uploads the file to the staging directory, validates it when the
// file has a validator, keeps the old version as PATH.haup-bak and replaces the
// live file atomically (rename in the same directory).
func installFile(ctx context.Context, h remote.Host, f desired.File) error {
	staged, err := h.Put(ctx, f.Content)
	if err != nil {
		return fmt.Errorf("file %s: upload: %w", f.Path, err)
	}
	// One line: validate (exit 3 with the validator's words), keep the
	// old file, install beside it and rename over it.
	var b strings.Builder
	fmt.Fprintf(&b, "t=%s; p=%s; ", shq(staged), shq(f.Path))
	if f.Validate != "" {
		fmt.Fprintf(&b, "if ! out=$(%s 2>&1); then echo \"$out\" >&2; exit 3; fi; ", fmt.Sprintf(f.Validate, `"$t"`))
	}
	fmt.Fprintf(&b, "{ [ ! -f \"$p\" ] || cp -p \"$p\" \"$p.haup-bak\"; } && install -m %04o -o %d -g %d \"$t\" \"$p.haup-new\" && mv -f \"$p.haup-new\" \"$p\" && rm -f \"$t\"\n", f.Mode, f.UID, f.GID)
	if _, err := h.Exec(ctx, b.String()); err != nil {
		var ee *remote.ExitError
		if f.Validate != "" && errors.As(err, &ee) && ee.Code == 3 {
			return fmt.Errorf("file %s: rejected by `%s`, the live file is unchanged: %s",
				f.Path, fmt.Sprintf(f.Validate, "FILE"), strings.TrimSpace(ee.Stderr))
		}
		return fmt.Errorf("file %s: %w", f.Path, err)
	}
	return nil
}

// runContainer creates the container from spec; with replace, the one
// there is removed first, its database shut down cleanly.
func runContainer(ctx context.Context, h remote.Host, spec desired.ContainerSpec, replace bool) error {
	var b strings.Builder
	if replace {
		// The database is shut down cleanly first: docker rm -f (or
		// stop) kills repmgrd, the image's PID 1, and PostgreSQL with
		// it, without a shutdown checkpoint; the image then could only
		// clone a standby again, where pg_rewind finds a cleanly
		// stopped one in order. An agent that cannot stop it (not
		// installed yet, no configuration) does not stop the change.
		fmt.Fprintf(&b, "%s stop-database -timeout 60s >/dev/null 2>&1 || true; docker rm -f %s >/dev/null && ", shq(nodeapi.BinaryPath), shq(spec.Name))
	}
	args := spec.RunArgs()
	for i, a := range args {
		args[i] = shq(a)
	}
	b.WriteString(strings.Join(args, " ") + " >/dev/null\n")
	return execFor(ctx, h, "run container "+spec.Name, b.String())
}

// finishVerifyFull installs the final service file, then restarts the
// container's WAL receiver so that replication reconnects with it.
func finishVerifyFull(ctx context.Context, h remote.Host, t tasks.FinishVerifyFull) error {
	if err := installFile(ctx, h, t.File); err != nil {
		return err
	}
	script := fmt.Sprintf(`c=%s
[ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || exit 0
docker exec "$c" pkill -TERM -f '^postgres: .*walreceiver' || true
`, shq(t.Container))
	if _, err := h.Exec(ctx, script); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "restart the WAL receiver", Err: err}
	}
	return nil
}

// reloadTLS copies the TLS key again for PostgreSQL's user in the running
// container, then reloads PostgreSQL.
func reloadTLS(ctx context.Context, h remote.Host, container string) error {
	script := fmt.Sprintf(`c=%s
[ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || exit 0
docker exec -u 0 "$c" %s tls-key || exit 5
%s`, shq(container), shq(nodeapi.BinInContainer+"/haup-check"), reloadInContainer)
	if _, err := h.Exec(ctx, script); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "TLS certificate: copy the key and reload", Err: err}
	}
	return nil
}

// rejoin clones the node again as a standby of the current primary,
// through the haup-rejoin unit, and waits until it streams and its repmgrd
// watches the primary (r, the inventory's repmgrd settings).
func rejoin(ctx context.Context, h remote.Host, r inventory.Repmgr) error {
	// The unit serialises this with a rejoin the check may have
	// started already; it waits until the node streams.
	if _, err := h.Exec(ctx, "systemctl start "+nodeapi.RejoinUnit+"\n"); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "rejoin (journalctl -u " + nodeapi.RejoinUnit + " on the node says more)", Err: err}
	}
	return armed(ctx, h, r)
}

// armed waits, after a standby started streaming, until its repmgrd
// watches its upstream: the node is not done before its automatic failover
// works again.
func armed(ctx context.Context, h remote.Host, r inventory.Repmgr) error {
	if err := waitArmed(ctx, h, r, Options{ReadyTimeout: tasks.ArmTimeout, PollInterval: 500 * time.Millisecond}); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "wait for repmgrd to reach its upstream", Err: err}
	}
	return nil
}

// follow starts the node's stopped database as a standby of the primary
// t.Conninfo names, on the data it has, and waits until it streams; when it
// does not within 45 s, it falls back to t.Clone.
func follow(ctx context.Context, h remote.Host, t tasks.Follow) error {
	agent := shq(nodeapi.BinaryPath)
	_, err := h.Exec(ctx, agent+" stop-database -timeout 60s && "+agent+" follow -timeout 60s "+shq(t.Conninfo)+"\n")
	if err == nil {
		err = waitStreaming(ctx, h, Options{ReadyTimeout: 45 * time.Second, PollInterval: 500 * time.Millisecond})
	}
	if err == nil {
		return armed(ctx, h, t.Clone.Repmgr)
	}
	return rejoin(ctx, h, t.Clone.Repmgr)
}
