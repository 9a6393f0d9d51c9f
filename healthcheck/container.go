package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// The bitnami postgresql-repmgr image's layout inside the container
// (scripts/postgresql-env.sh), which haup drives PostgreSQL through.
const (
	imagePGCtl    = "/opt/bitnami/postgresql/bin/pg_ctl"
	imageConfFile = "/opt/bitnami/postgresql/conf/postgresql.conf"
	imageHBAFile  = "/opt/bitnami/postgresql/conf/pg_hba.conf"
	imagePIDFile  = "/opt/bitnami/postgresql/tmp/postgresql.pid"
	// imageDaemonUser runs PostgreSQL when the image runs as root, as
	// production's does (POSTGRESQL_DAEMON_USER).
	imageDaemonUser = "postgres"
)

// withRepmgrPassword adds repmgr's password to a conninfo string, quoted as
// libpq wants it. The image writes the same password into its own
// primary_conninfo (the .pgpass it can write instead is root-only, which
// the postgres user cannot read).
func withRepmgrPassword(conninfo string) (string, error) {
	b, err := os.ReadFile(nodeapi.RepmgrPasswordFile)
	if err != nil {
		return "", fmt.Errorf("repmgr's password: %w", err)
	}
	pw := strings.TrimRight(string(b), "\n")
	pw = strings.ReplaceAll(pw, `\`, `\\`)
	pw = strings.ReplaceAll(pw, `'`, `\'`)
	return conninfo + " password='" + pw + "'", nil
}

// containerRunning tells whether the container runs.
func containerRunning(ctx context.Context, container string) (bool, error) {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.State.Running}}", container).Output()
	if err != nil {
		return false, fmt.Errorf("docker inspect %s: %w", container, err)
	}
	return strings.TrimSpace(string(out)) == "true", nil
}

// StopDatabase shuts the container's PostgreSQL down cleanly (a shutdown
// checkpoint, every WAL record sent to the standbys that stream) and leaves
// the container running. The image's PID 1 is repmgrd: `docker stop` ends it
// and the kernel kills PostgreSQL with it, without a shutdown checkpoint, so
// haup never stops the database that way. repmgrd waits in degraded
// monitoring (haup sets REPMGR_DEGRADED_MONITORING_TIMEOUT=-1) until the
// database is back, as a primary or as a standby. A database that is not
// running is not an error.
func StopDatabase(ctx context.Context, container string, timeout time.Duration) error {
	running, err := containerRunning(ctx, container)
	if err != nil || !running {
		return err
	}
	secs := strconv.Itoa(max(1, int(timeout.Seconds())))
	out, err := exec.CommandContext(ctx, "docker", "exec", "-u", imageDaemonUser, container,
		imagePGCtl, "stop", "-D", nodeapi.ImageDataDir, "-m", "fast", "-w", "-t", secs).CombinedOutput()
	if err != nil && !noDatabaseToStop(string(out)) {
		return fmt.Errorf("pg_ctl stop in %s: %v: %s", container, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// noDatabaseToStop tells, from what pg_ctl stop (or docker exec) said,
// that no PostgreSQL runs there: stopped, a data directory the image has
// not filled yet (a clone that failed), or a container Docker restarts.
func noDatabaseToStop(out string) bool {
	for _, s := range []string{"Is server running?", "is not a database cluster directory", "is restarting, wait until the container is running"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// StopContainer stops the container with its database shut down cleanly
// first (see StopDatabase).
func StopContainer(ctx context.Context, container string, timeout time.Duration) error {
	if err := StopDatabase(ctx, container, timeout); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "docker", "stop", "-t", "10", container).CombinedOutput(); err != nil {
		return fmt.Errorf("docker stop %s: %v: %s", container, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// StartDatabase starts PostgreSQL, unless it runs, inside the running container the way the
// image's run.sh does (postgresql_start_bg), without the entrypoint, so the
// data directory is used as it is: no clone, no rewind. Its log goes to the
// container's log (PID 1's standard output). repmgrd, in degraded
// monitoring meanwhile, picks the database up again.
func StartDatabase(ctx context.Context, container string, timeout time.Duration) error {
	if err := exec.CommandContext(ctx, "docker", "exec", "-u", imageDaemonUser, container, imagePGCtl, "status", "-D", nodeapi.ImageDataDir).Run(); err == nil {
		return nil // running already
	}
	secs := strconv.Itoa(max(1, int(timeout.Seconds())))
	out, err := exec.CommandContext(ctx, "docker", "exec", "-u", imageDaemonUser, container,
		imagePGCtl, "start", "-D", nodeapi.ImageDataDir, "-w", "-t", secs, "-l", "/proc/1/fd/1",
		"-o", "--config-file="+imageConfFile+" --external_pid_file="+imagePIDFile+" --hba_file="+imageHBAFile).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start in %s: %v: %s", container, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// lockDir is where the image's repmgr event scripts keep the role locks
// (REPMGR_LOCK_DIR, DATA_DIR/../lock on the host).
func lockDir(dataDir string) string { return filepath.Join(dataDir, "lock") }

// MarkPrimary records this node as the primary the way the image's
// standby_promote event does (master.lock appended with the time, the
// standby lock removed), so that the image, started again while the old
// primary is down, keeps this node primary instead of waiting for
// REPMGR_PRIMARY_HOST. haup's promotion uses pg_promote(), which fires no
// repmgr event.
func MarkPrimary(dataDir string, at time.Time) error {
	dir := lockDir(dataDir)
	uid, gid, err := dataOwner(dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_ = os.Chown(dir, uid, gid)
	f, err := os.OpenFile(filepath.Join(dir, "master.lock"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, werr := fmt.Fprintln(f, at.UTC().Format("2006-01-02 15:04:05.000000-07"))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	_ = os.Chown(filepath.Join(dir, "master.lock"), uid, gid)
	if err := os.Remove(filepath.Join(dir, "standby.lock")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// unmarkPrimary removes the primary lock, as the image's standby_follow
// event does: the node follows another primary.
func unmarkPrimary(dataDir string) error {
	if err := os.Remove(filepath.Join(lockDir(dataDir), "master.lock")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// dataOwner is the owner of the data directory, which the files haup writes
// into it take.
func dataOwner(dataDir string) (int, int, error) {
	st, err := os.Stat(filepath.Join(dataDir, "data"))
	if err != nil {
		return 0, 0, err
	}
	s := st.Sys().(*syscall.Stat_t)
	return int(s.Uid), int(s.Gid), nil
}

// ContainerSettling tells whether the container runs with the image's
// setup not over: its PID 1 is not repmgrd yet (run.sh execs repmgrd last).
// A container that does not run, or cannot be asked, is not settling.
func ContainerSettling(ctx context.Context, container string) bool {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.State.Running}} {{.State.Pid}}", container).Output()
	if err != nil {
		return false
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[0] != "true" || f[1] == "0" {
		return false
	}
	comm, err := os.ReadFile("/proc/" + f[1] + "/comm")
	return err == nil && strings.TrimSpace(string(comm)) != "repmgrd"
}
