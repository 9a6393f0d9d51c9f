package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// repmgr's password out of repmgr's metadata. By default the bitnami image
// writes the password into repmgr.conf's conninfo, which repmgr copies into
// every node's record in repmgr.nodes (readable by any user of the repmgr
// schema) and into each standby's primary_conninfo. With REPMGR_USE_PASSFILE
// the conninfo says passfile=REPMGR_PASSFILE_PATH instead; but the image,
// running as root, writes that file as root, mode 0600, where repmgr and the
// WAL receiver, running as the image's postgres user, cannot read it
// (librepmgr.sh:493-496). It writes the file only when it is absent, so the
// start gate writes it first, owned by the user PostgreSQL will run as, in
// the container's /tmp (a tmpfs: gone when the container stops).

// The image's scripts that define and create its database user.
const (
	imageLibOS  = "/opt/bitnami/scripts/libos.sh"
	daemonUser  = "postgres" // postgresql-env.sh's POSTGRESQL_DAEMON_USER default
	daemonGroup = "postgres"
)

// PassfileLine is a .pgpass line giving user's password for every host,
// port and database (replication included); ':' and '\' escaped as libpq
// reads them.
func PassfileLine(user, password string) string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	return "*:*:*:" + esc.Replace(user) + ":" + esc.Replace(password) + "\n"
}

// WritePassfile writes the passfile at path, mode 0600, owned by uid:gid
// (libpq ignores a passfile others may read), replacing any earlier one.
func WritePassfile(path, user, password string, uid, gid int) error {
	if strings.ContainsAny(password, "\r\n") || password == "" {
		return errors.New("the repmgr password is empty or holds a line break: it cannot go in a passfile")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pgpass-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(PassfileLine(user, password)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(tmp.Name(), uid, gid); err != nil {
			return err
		}
	}
	return os.Rename(tmp.Name(), path)
}

// ImageDaemonUser returns the uid and gid PostgreSQL runs as in the image.
// Run as root, the image creates its postgres user at every start
// (setup.sh: ensure_user_exists); the start gate creates it first, with the
// image's own function and arguments, so that the user, and its ids, are
// the ones the image would make. Not root, the image runs as this process's
// user.
func ImageDaemonUser(ctx context.Context, getenv func(string) string) (int, int, error) {
	if os.Geteuid() != 0 {
		return os.Geteuid(), os.Getegid(), nil
	}
	name := or(getenv("POSTGRESQL_DAEMON_USER"), daemonUser)
	group := or(getenv("POSTGRESQL_DAEMON_GROUP"), daemonGroup)
	if _, err := user.Lookup(name); err != nil {
		if _, err := os.Stat(imageLibOS); err != nil {
			return 0, 0, fmt.Errorf("user %s does not exist and the image's %s is missing: %w", name, imageLibOS, err)
		}
		script := `. "$1" && ensure_user_exists "$2" --group "$3"`
		out, err := exec.CommandContext(ctx, "bash", "-c", script, "bash", imageLibOS, name, group).CombinedOutput()
		if err != nil {
			return 0, 0, fmt.Errorf("create the image's user %s: %v: %s", name, err, strings.TrimSpace(string(out)))
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

// PreparePassfile writes repmgr's passfile where the image will read it,
// when haup has the image use one (REPMGR_USE_PASSFILE=true); nothing
// otherwise.
func PreparePassfile(ctx context.Context, env StartGateEnv, getenv func(string) string) error {
	if getenv("REPMGR_USE_PASSFILE") != "true" {
		return nil
	}
	path := getenv("REPMGR_PASSFILE_PATH")
	if path == "" {
		return errors.New("REPMGR_USE_PASSFILE is true and REPMGR_PASSFILE_PATH is empty")
	}
	uid, gid, err := ImageDaemonUser(ctx, getenv)
	if err != nil {
		return err
	}
	return WritePassfile(path, env.User, env.Password, uid, gid)
}
