package tasks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
)

// operation is what apply does on a node to make one change: a value the
// plan holds (one small type per kind of work, with the data it needs), so
// that planning builds no apply code and a test can read what apply would
// do by the operation's type and fields.
type operation interface {
	run(ctx context.Context, h remote.Host) error
}

// watched is an operation with a long wait (a clone, an image pull) whose
// progress apply reports while it runs.
type watched interface {
	watch() watch
}

// watchOf is the watch of op, or nil when it has no long wait to report.
func watchOf(op operation) watch {
	if w, ok := op.(watched); ok {
		return w.watch()
	}
	return nil
}

// execStep runs a one-line script as a named step.
type execStep struct {
	step, script string
}

func (o execStep) run(ctx context.Context, h remote.Host) error {
	if _, err := h.Exec(ctx, o.script); err != nil {
		return &remote.StepError{Host: h.Name(), Step: o.step, Err: err}
	}
	return nil
}

// execFor runs script on the node; a failure reads "what: error".
func execFor(ctx context.Context, h remote.Host, what, script string) error {
	if _, err := h.Exec(ctx, script); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// nothing does nothing on the node: a change whose effect is apply's own
// (the record of an interrupted apply, replaced by this apply's).
type nothing struct{}

func (nothing) run(context.Context, remote.Host) error { return nil }

// installKeepalivedPackage installs keepalived with apt (installKeepalived).
type installKeepalivedPackage struct{}

func (installKeepalivedPackage) run(ctx context.Context, h remote.Host) error {
	return execFor(ctx, h, "install keepalived", installKeepalived)
}

// makeDir creates a directory, or sets its mode and owner.
type makeDir struct {
	dir desired.Dir
}

func (o makeDir) run(ctx context.Context, h remote.Host) error {
	d := o.dir
	p := shq(d.Path)
	return execFor(ctx, h, "dir "+d.Path, fmt.Sprintf("mkdir -p %s && chown %d:%d %s && chmod %04o %s\n", p, d.UID, d.GID, p, d.Mode, p))
}

// chmodFile sets the mode and owner of a file whose content is right.
type chmodFile struct {
	file desired.File
}

func (o chmodFile) run(ctx context.Context, h remote.Host) error {
	f := o.file
	p := shq(f.Path)
	return execFor(ctx, h, "file "+f.Path, fmt.Sprintf("chown %d:%d %s && chmod %04o %s\n", f.UID, f.GID, p, f.Mode, p))
}

// installFile uploads the file to the staging directory, validates it when the
// file has a validator, keeps the old version as PATH.haup-bak and replaces the
// live file atomically (rename in the same directory).
type installFile struct {
	file desired.File
}

func (o installFile) run(ctx context.Context, h remote.Host) error {
	f := o.file
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
		if f.Validate != "" && asExit(err, &ee) && ee.Code == 3 {
			return fmt.Errorf("file %s: rejected by `%s`, the live file is unchanged: %s",
				f.Path, fmt.Sprintf(f.Validate, "FILE"), strings.TrimSpace(ee.Stderr))
		}
		return fmt.Errorf("file %s: %w", f.Path, err)
	}
	return nil
}

// pullImage pulls an image the node lacks.
type pullImage struct {
	image string
}

func (o pullImage) run(ctx context.Context, h remote.Host) error {
	return execFor(ctx, h, "pull "+o.image, pullScript(o.image))
}

func (o pullImage) watch() watch { return watchPull(o.image) }

// runContainer creates the container from spec; with replace, the one
// there is removed first, its database shut down cleanly.
type runContainer struct {
	spec    desired.ContainerSpec
	replace bool
}

func (o runContainer) run(ctx context.Context, h remote.Host) error {
	var b strings.Builder
	if o.replace {
		// The database is shut down cleanly first: docker rm -f (or
		// stop) kills repmgrd, the image's PID 1, and PostgreSQL with
		// it, without a shutdown checkpoint; the image then could only
		// clone a standby again, where pg_rewind finds a cleanly
		// stopped one in order. An agent that cannot stop it (not
		// installed yet, no configuration) does not stop the change.
		fmt.Fprintf(&b, "%s stop-database -timeout 60s >/dev/null 2>&1 || true; docker rm -f %s >/dev/null && ", shq(nodeapi.BinaryPath), shq(o.spec.Name))
	}
	args := o.spec.RunArgs()
	for i, a := range args {
		args[i] = shq(a)
	}
	b.WriteString(strings.Join(args, " ") + " >/dev/null\n")
	return execFor(ctx, h, "run container "+o.spec.Name, b.String())
}

// startContainer starts a stopped container.
type startContainer struct {
	name string
}

func (o startContainer) run(ctx context.Context, h remote.Host) error {
	return execFor(ctx, h, "start container "+o.name, "docker start "+shq(o.name)+" >/dev/null\n")
}

// resetWitness removes the witness's container and its data, then creates
// the container again: a new database, with the passwords of the files.
type resetWitness struct {
	spec    desired.ContainerSpec
	dataDir string
}

func (o resetWitness) run(ctx context.Context, h remote.Host) error {
	script := "docker rm -f " + shq(o.spec.Name) + " >/dev/null 2>&1; find " + shq(o.dataDir) + " -mindepth 1 -delete\n"
	if err := execFor(ctx, h, "reset the witness", script); err != nil {
		return err
	}
	return runContainer{spec: o.spec}.run(ctx, h)
}

// finishVerifyFull installs the final service file, then restarts the
// container's WAL receiver so that replication reconnects with it.
type finishVerifyFull struct {
	file      desired.File
	container string
}

func (o finishVerifyFull) run(ctx context.Context, h remote.Host) error {
	if err := (installFile{o.file}).run(ctx, h); err != nil {
		return err
	}
	script := fmt.Sprintf(`c=%s
[ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || exit 0
docker exec "$c" pkill -TERM -f '^postgres: .*walreceiver' || true
`, shq(o.container))
	if _, err := h.Exec(ctx, script); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "restart the WAL receiver", Err: err}
	}
	return nil
}

// reloadTLS copies the TLS key again for PostgreSQL's user in the running
// container, then reloads PostgreSQL.
type reloadTLS struct {
	container string
}

func (o reloadTLS) run(ctx context.Context, h remote.Host) error {
	script := fmt.Sprintf(`c=%s
[ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || exit 0
docker exec -u 0 "$c" %s tls-key || exit 5
%s`, shq(o.container), shq(nodeapi.BinInContainer+"/haup-check"), reloadInContainer)
	if _, err := h.Exec(ctx, script); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "TLS certificate: copy the key and reload", Err: err}
	}
	return nil
}

// swapPassword moves the staged password file over the live one.
type swapPassword struct {
	staged, live string
}

func (o swapPassword) run(ctx context.Context, h remote.Host) error {
	_, err := h.Exec(ctx, "mv -f "+shq(o.staged)+" "+shq(o.live)+"\n")
	return err
}

// setPassword sets a role's password inside the database from a file on
// the node, through the agent.
type setPassword struct {
	role, file string
}

func (o setPassword) run(ctx context.Context, h remote.Host) error {
	_, err := h.Exec(ctx, shq(nodeapi.BinaryPath)+" set-password -role "+shq(o.role)+" -file "+shq(o.file)+"\n")
	return err
}

// rejoin clones the node again as a standby of the current primary,
// through the haup-rejoin unit, and waits until it streams and its repmgrd
// watches the primary; addr is the node's database address, to report the
// clone's progress, repmgr the inventory's repmgrd settings.
type rejoin struct {
	addr   string
	repmgr inventory.Repmgr
}

func (o rejoin) run(ctx context.Context, h remote.Host) error {
	// The unit serialises this with a rejoin the check may have
	// started already; it waits until the node streams.
	if _, err := h.Exec(ctx, "systemctl start "+nodeapi.RejoinUnit+"\n"); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "rejoin (journalctl -u " + nodeapi.RejoinUnit + " on the node says more)", Err: err}
	}
	return armed(ctx, h, o.repmgr)
}

// armed waits, after a standby started streaming, until its repmgrd
// watches its upstream: the node is not done before its automatic failover
// works again.
func armed(ctx context.Context, h remote.Host, r inventory.Repmgr) error {
	if err := waitArmed(ctx, h, r, ApplyOptions{ReadyTimeout: armTimeout, PollInterval: 500 * time.Millisecond}); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "wait for repmgrd to reach its upstream", Err: err}
	}
	return nil
}

func (o rejoin) watch() watch { return watchClone(o.addr) }

// follow starts the node's stopped database as a standby of the primary
// conninfo names, on the data it has, and waits until it streams; when it
// does not within 45 s, it falls back to clone.
type follow struct {
	conninfo string
	clone    rejoin
}

func (o follow) run(ctx context.Context, h remote.Host) error {
	agent := shq(nodeapi.BinaryPath)
	_, err := h.Exec(ctx, agent+" stop-database -timeout 60s && "+agent+" follow -timeout 60s "+shq(o.conninfo)+"\n")
	if err == nil {
		err = waitStreaming(ctx, h, ApplyOptions{ReadyTimeout: 45 * time.Second, PollInterval: 500 * time.Millisecond})
	}
	if err == nil {
		return armed(ctx, h, o.clone.repmgr)
	}
	return o.clone.run(ctx, h)
}

func (o follow) watch() watch { return o.clone.watch() }
