package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/internal/poll"
	"github.com/haup-project/haup/nodeapi"
)

// Follow prepares the stopped database as a standby of conninfo (see
// PrepareFollow) and starts it on the data it has: inside the running
// container, without the image's entrypoint (which would clone or rewind
// it). A container that does not run is refused: starting it runs the
// entrypoint, which decides alone what the data directory keeps.
func Follow(ctx context.Context, cfg nodeapi.Config, conninfo string, timeout time.Duration) error {
	if cfg.Container == "" {
		return errors.New("no container in the configuration")
	}
	running, err := containerRunning(ctx, cfg.Container)
	if err != nil {
		return err
	}
	if !running {
		return fmt.Errorf("container %s is not running: starting it would let the image re-sync the data directory alone; rejoin with a clone instead", cfg.Container)
	}
	full, err := withRepmgrPassword(conninfo)
	if err != nil {
		return err
	}
	if err := PrepareFollow(cfg, full); err != nil {
		return err
	}
	// A standby never holds the VIP: the handover is over.
	if err := endHandover(cfg); err != nil {
		return err
	}
	return StartDatabase(ctx, cfg.Container, timeout)
}

// Demote makes the local primary refuse writes (the soft fence: sessions
// ended, new transactions read-only) and returns its WAL position
// afterwards: every write it acknowledged is at or before that position.
// The node keeps the VIP at the lowest priority until the switchover's
// target takes it (the handover, recorded first), for nodeapi.HandoverFor
// at most.
func Demote(ctx context.Context, cfg nodeapi.Config, password string) (string, error) {
	local, err := ask(ctx, cfg, password, cfg.Host, cfg.Port)
	if err != nil {
		return "", err
	}
	if local.role != nodeapi.RolePrimary {
		return "", errors.New("the local database is not a primary")
	}
	if err := beginHandover(cfg, time.Now()); err != nil {
		return "", fmt.Errorf("record the handover: %w", err)
	}
	if err := fenceAt(ctx, cfg, password, cfg.Host); err != nil {
		_ = endHandover(cfg)
		return "", err
	}
	rows, err := query(ctx, cfg, password, dbName(cfg), `SELECT pg_current_wal_lsn()::text`)
	if err != nil || len(rows) != 1 {
		return "", fmt.Errorf("read the WAL position: %v", err)
	}
	return rows[0][0], nil
}

// Undemote lifts Demote: the primary takes writes again (a switchover that
// could not finish).
func Undemote(ctx context.Context, cfg nodeapi.Config, password string) error {
	if err := endHandover(cfg); err != nil {
		return err
	}
	for _, stmt := range []string{`ALTER SYSTEM RESET default_transaction_read_only`, `SELECT pg_reload_conf()`} {
		if _, err := query(ctx, cfg, password, dbName(cfg), stmt); err != nil {
			return err
		}
	}
	return nil
}

// WaitReplay waits until the local standby has replayed lsn.
func WaitReplay(ctx context.Context, cfg nodeapi.Config, password, lsn string, timeout time.Duration) error {
	last := ""
	err := poll.Until(ctx, timeout, 50*time.Millisecond, func() (bool, error) {
		rows, err := query(ctx, cfg, password, dbName(cfg),
			fmt.Sprintf(`SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn, coalesce(pg_last_wal_replay_lsn()::text, '')`, quoteLSN(lsn)))
		if err == nil && len(rows) == 1 {
			if rows[0][0] == "t" {
				return true, nil
			}
			last = rows[0][1]
		} else if err != nil {
			last = err.Error()
		}
		return false, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("not replayed up to %s within %s (at %s)", lsn, timeout, last)
	}
	return err
}

// quoteLSN keeps an LSN ("16/B374D848") from carrying anything else.
func quoteLSN(lsn string) string {
	for _, c := range lsn {
		if !(c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return "0/0"
		}
	}
	return lsn
}

// Promote promotes the local standby, waiting until it is a primary, and
// records the new roles in repmgr's metadata (as `repmgr standby promote`
// would) so that repmgrd keeps watching the right upstream.
func Promote(ctx context.Context, cfg nodeapi.Config, password, repmgrDB, oldPrimary string) error {
	if _, err := query(ctx, cfg, password, dbName(cfg), `SELECT pg_promote(true, 60)`); err != nil {
		// Promoted meanwhile by another (repmgrd, allowed by the same
		// acceptance): the rest still applies.
		if local, aerr := ask(ctx, cfg, password, cfg.Host, cfg.Port); aerr != nil || local.role != nodeapi.RolePrimary {
			return fmt.Errorf("pg_promote: %w", err)
		}
	}
	local, err := ask(ctx, cfg, password, cfg.Host, cfg.Port)
	if err != nil || local.role != nodeapi.RolePrimary {
		return fmt.Errorf("not a primary after pg_promote (%v)", err)
	}
	if cfg.DataDir != "" {
		if err := MarkPrimary(cfg.DataDir, time.Now()); err != nil {
			return fmt.Errorf("promoted, but the image's primary lock: %w", err)
		}
	}
	if repmgrDB == "" {
		return nil
	}
	stmts := []string{
		fmt.Sprintf(`UPDATE repmgr.nodes SET type = 'primary', upstream_node_id = NULL, active = true WHERE node_name = %s`, sqlString(cfg.Node)),
		fmt.Sprintf(`UPDATE repmgr.nodes SET type = 'standby', upstream_node_id = (SELECT node_id FROM repmgr.nodes WHERE node_name = %s) WHERE node_name = %s`,
			sqlString(cfg.Node), sqlString(oldPrimary)),
		// A witness watches the primary: point it at the new one.
		fmt.Sprintf(`UPDATE repmgr.nodes SET upstream_node_id = (SELECT node_id FROM repmgr.nodes WHERE node_name = %s) WHERE type = 'witness'`,
			sqlString(cfg.Node)),
	}
	for _, s := range stmts {
		if _, err := query(ctx, cfg, password, repmgrDB, s); err != nil {
			return fmt.Errorf("repmgr metadata: %w", err)
		}
	}
	return nil
}

// ForgetWitness removes a witness's record from repmgr's metadata on this
// primary. A witness that stays registered while it is gone leaves repmgr
// counting it in every election: with two nodes, no majority, no failover.
func ForgetWitness(ctx context.Context, cfg nodeapi.Config, password, repmgrDB, name string) error {
	local, err := ask(ctx, cfg, password, cfg.Host, cfg.Port)
	if err != nil {
		return err
	}
	if local.role != nodeapi.RolePrimary {
		return errors.New("the local database is not the primary")
	}
	_, err = query(ctx, cfg, password, repmgrDB,
		fmt.Sprintf(`DELETE FROM repmgr.nodes WHERE type = 'witness' AND node_name = %s`, sqlString(name)))
	return err
}

func sqlString(s string) string {
	out := "'"
	for _, c := range s {
		if c == '\'' {
			out += "''"
		} else {
			out += string(c)
		}
	}
	return out + "'"
}

// WaitCaughtUp waits, on the switchover's target, until the old primary's
// last WAL is here and replayed: the WAL receiver has received at least lsn,
// has stopped streaming (the old primary shut down cleanly, after sending its
// shutdown checkpoint), and replay has reached what was received. Then the
// old primary's WAL ends where this node's new timeline will begin, and it
// can follow this node without a clone.
func WaitCaughtUp(ctx context.Context, cfg nodeapi.Config, password, lsn string, timeout time.Duration) error {
	q := fmt.Sprintf(`SELECT coalesce(pg_last_wal_receive_lsn() >= '%s'::pg_lsn, false),
  coalesce(pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn(), false),
  coalesce((SELECT status FROM pg_stat_wal_receiver), 'stopped'),
  coalesce(pg_last_wal_receive_lsn()::text, '') || ' / ' || coalesce(pg_last_wal_replay_lsn()::text, '')`, quoteLSN(lsn))
	last := ""
	err := poll.Until(ctx, timeout, 50*time.Millisecond, func() (bool, error) {
		rows, err := query(ctx, cfg, password, dbName(cfg), q)
		if err == nil && len(rows) == 1 {
			r := rows[0]
			if r[0] == "t" && r[1] == "t" && r[2] != "streaming" {
				return true, nil
			}
			last = "received / replayed " + r[3] + ", receiver " + r[2]
		} else if err != nil {
			last = err.Error()
		}
		return false, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("the old primary's last WAL (at least %s) not received and replayed within %s (%s)", lsn, timeout, last)
	}
	return err
}

// PrepareFollow makes the stopped database in cfg.DataDir start as a standby
// of conninfo's primary: standby.signal, primary_conninfo in
// postgresql.auto.conf, the switchover's read-only setting removed (it
// would make this node refuse writes the day it is promoted), and the
// image's primary lock removed (as its standby_follow event does). The
// files keep the data directory's owner. The container may run (its
// database stopped by StopDatabase): then Follow starts the database
// inside it.
func PrepareFollow(cfg nodeapi.Config, conninfo string) error {
	if cfg.DataDir == "" {
		return errors.New("no data_dir in the configuration")
	}
	data := filepath.Join(cfg.DataDir, "data")
	if cfg.Container != "" {
		running, err := containerRunning(context.Background(), cfg.Container)
		if err != nil {
			return err
		}
		if running {
			// The image's pg_ctl says whether the database runs; a
			// postmaster.pid alone may be stale.
			err := exec.Command("docker", "exec", "-u", imageDaemonUser, cfg.Container, imagePGCtl, "status", "-D", nodeapi.ImageDataDir).Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				return fmt.Errorf("the database in container %s is running (or its state is unknown: %v): stop it first", cfg.Container, err)
			}
		}
	} else if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
		return errors.New("the database is running (postmaster.pid exists): stop it first")
	}
	if err := unmarkPrimary(cfg.DataDir); err != nil {
		return err
	}
	st, err := os.Stat(filepath.Join(data, "PG_VERSION"))
	if err != nil {
		return fmt.Errorf("no database in %s: %w", data, err)
	}
	uid, gid := int(st.Sys().(*syscall.Stat_t).Uid), int(st.Sys().(*syscall.Stat_t).Gid)
	auto := filepath.Join(data, "postgresql.auto.conf")
	old, err := os.ReadFile(auto)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var kept []string
	for _, l := range strings.Split(strings.TrimRight(string(old), "\n"), "\n") {
		key := strings.TrimSpace(strings.SplitN(l, "=", 2)[0])
		if l == "" || key == "primary_conninfo" || key == "default_transaction_read_only" {
			continue
		}
		kept = append(kept, l)
	}
	kept = append(kept, "primary_conninfo = '"+strings.ReplaceAll(conninfo, "'", "''")+"'")
	// standby.signal first: the read-only setting leaves postgresql.auto.conf
	// only once the database can no longer start as a primary.
	signal := filepath.Join(data, "standby.signal")
	if err := os.WriteFile(signal, nil, 0o600); err != nil {
		return err
	}
	if err := os.Chown(signal, uid, gid); err != nil {
		return err
	}
	return atomicfile.WriteOwned(auto, []byte(strings.Join(kept, "\n")+"\n"), 0o600, uid, gid)
}
