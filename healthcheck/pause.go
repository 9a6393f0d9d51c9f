package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/internal/poll"
	"github.com/haup-project/haup/nodeapi"
)

// A switchover stops the old primary before it promotes the target. With
// repmgr's fast detection, repmgrd on the target would see its primary gone
// and promote the target on its own, racing haup's promotion. So the
// switchover pauses repmgrd's failover on the standbys first
// (repmgr.repmgrd_pause, a function of the repmgr extension: any image with
// repmgr 5 has it) and resumes it once the VIP is on the new primary.
//
// The pause outlives the process that set it: repmgr keeps it in shared
// memory and in a file in the data directory, so it survives a restart of
// the database. A haup killed mid-switchover must not leave failover paused
// for good: before pausing, the node schedules its own resume with a
// transient systemd timer (PauseUnit), and records the pause (PausePath) for
// `haup status`. Status and diff also read the pause from the database
// itself, so a pause that outlived its timer (the database was down when it
// fired) is still seen, and apply resumes it.
const (
	PauseUnit = "haup-resume-failover"
)

// ReadPause returns the recorded pause, or nil when none is recorded.
func ReadPause(path string) (*nodeapi.PauseRecord, error) {
	return readRecord[nodeapi.PauseRecord](path)
}

// readRecord reads the JSON record at path: nil without an error when
// there is none, an error naming the file when it cannot be read.
func readRecord[T any](path string) (*T, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r T
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &r, nil
}

// Systemctl runs systemctl or systemd-run.
func (Host) Systemctl(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// PauseFailover pauses repmgrd's automatic failover on this node for at most
// d: the resume is scheduled before the pause is set, so that whatever
// happens to the caller afterwards, failover resumes by itself.
func PauseFailover(ctx context.Context, sys System, cfg nodeapi.Config, password, repmgrDB string, d time.Duration, why string) error {
	return PauseFailoverAs(ctx, sys, cfg, password, repmgrDB, d, nodeapi.PauseRecord{Why: why, Kind: nodeapi.PauseSwitchover})
}

// PauseFailoverAs is PauseFailover with the record's kind, reason and
// author (At and Until are set here, by this node's clock). sys schedules
// the resume.
func PauseFailoverAs(ctx context.Context, sys System, cfg nodeapi.Config, password, repmgrDB string, d time.Duration, r nodeapi.PauseRecord) error {
	if d < time.Second {
		return errors.New("a pause must last at least 1s")
	}
	if r.Kind != nodeapi.PauseSwitchover && r.Kind != nodeapi.PauseMaintenance {
		return fmt.Errorf("unknown kind of pause %q (switchover or maintenance)", r.Kind)
	}
	// A timer of an earlier pause is replaced.
	_ = sys.Systemctl(ctx, "systemctl", "stop", PauseUnit+".timer", PauseUnit+".service")
	_ = sys.Systemctl(ctx, "systemctl", "reset-failed", PauseUnit+".timer", PauseUnit+".service")
	secs := strconv.Itoa(int((d + time.Second - 1) / time.Second))
	if err := sys.Systemctl(ctx, "systemd-run", "--quiet", "--unit="+PauseUnit, "--on-active="+secs, "--timer-property=AccuracySec=1s",
		"--description=haup: resume repmgrd's automatic failover after a "+r.Kind+" pause",
		nodeapi.BinaryPath, "resume-failover", "-wait", "1h"); err != nil {
		return fmt.Errorf("schedule the resume (nothing paused): %w", err)
	}
	unlock, err := lockPause(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%w (its resume stays scheduled)", err)
	}
	defer unlock()
	now := time.Now().UTC()
	r.At, r.Until = now, now.Add(d)
	rec, _ := json.Marshal(r)
	if err := atomicfile.Write(cfg.PauseFile(), append(rec, '\n'), 0o644); err != nil {
		return err
	}
	if _, err := query(ctx, cfg, password, repmgrDB, `SELECT repmgr.repmgrd_pause(true)`); err != nil {
		return fmt.Errorf("repmgr.repmgrd_pause(true): %w (its resume stays scheduled)", err)
	}
	return nil
}

// lockPause serialises the changes of the pause (its record and repmgr's
// flag) on this node: the agent's end of an overdue pause never undoes a
// pause set meanwhile. The lock is an flock on a file beside the record,
// released when the process ends, so a killed holder leaves none.
func lockPause(ctx context.Context, cfg nodeapi.Config) (func(), error) {
	path := cfg.PauseFile() + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return func() { f.Close() }, nil
		} else if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: held by another change of the pause: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// resumeAttempt bounds one try of a resume: a database that accepts the
// connection and then hangs must not keep the resume from trying again.
const resumeAttempt = 10 * time.Second

// resumeOnce lifts repmgr's pause flag and checks that it is lifted, under
// the pause's lock; when at is set, only while the recorded pause is the
// one set at at (none recorded: already resumed, nothing to do). The
// record goes once the flag is lifted.
func resumeOnce(ctx context.Context, cfg nodeapi.Config, password, repmgrDB string, at *time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, resumeAttempt)
	defer cancel()
	unlock, err := lockPause(ctx, cfg)
	if err != nil {
		return err
	}
	defer unlock()
	if at != nil {
		rec, err := ReadPause(cfg.PauseFile())
		if err != nil {
			return err
		}
		if rec == nil || !rec.At.Equal(*at) {
			return nil
		}
	}
	rows, err := query(ctx, cfg, password, repmgrDB, `SELECT repmgr.repmgrd_pause(false); `+pausedQuery)
	if err != nil {
		return fmt.Errorf("repmgr.repmgrd_pause(false): %w", err)
	}
	if n := len(rows); n == 0 || len(rows[n-1]) != 1 || rows[n-1][0] != "false" {
		return fmt.Errorf("repmgr.repmgrd_pause(false): repmgrd_is_paused() still says %v", rows)
	}
	if err := os.Remove(cfg.PauseFile()); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// EndPause is the agent's end of a pause that ran out and that its timer
// did not end (agent.ActEndPause): the pause recorded at at, if it still
// is the one recorded, is resumed and its record removed.
func EndPause(ctx context.Context, cfg nodeapi.Config, password string, at time.Time) error {
	return resumeOnce(ctx, cfg, password, nodeapi.RepmgrDatabase, &at)
}

// ResumeFailover lifts a pause: repmgrd fails over again. It retries for up
// to wait while the database does not answer (the timer may fire while the
// database restarts), then removes the record, and the timer through sys.
func ResumeFailover(ctx context.Context, sys System, cfg nodeapi.Config, password, repmgrDB string, wait time.Duration) error {
	var last error
	err := poll.Until(ctx, wait, time.Second, func() (bool, error) {
		last = resumeOnce(ctx, cfg, password, repmgrDB, nil)
		return last == nil, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return last
	}
	if err != nil {
		return err
	}
	// Stopping the timer from its own service is harmless: the service runs on.
	_ = sys.Systemctl(ctx, "systemctl", "stop", PauseUnit+".timer")
	return nil
}

// pausedQuery reads repmgr's pause flag on the local node.
const pausedQuery = `SELECT coalesce(repmgr.repmgrd_is_paused(), false)::text`

// KeepMaintenancePause pauses this node's repmgrd again when a maintenance
// pause is recorded here and has not run out: a rejoin that cloned the data
// directory lost repmgr's own flag (repmgr keeps it in the data directory,
// under the node's id), and the node would fail over in the middle of the
// maintenance. It reports whether it paused.
func KeepMaintenancePause(ctx context.Context, cfg nodeapi.Config, password, repmgrDB string) (bool, error) {
	rec, err := ReadPause(cfg.PauseFile())
	if err != nil || !rec.Maintenance() || !time.Now().Before(rec.Until) {
		return false, err
	}
	if _, err := query(ctx, cfg, password, repmgrDB, `SELECT repmgr.repmgrd_pause(true)`); err != nil {
		return false, fmt.Errorf("repmgr.repmgrd_pause(true): %w", err)
	}
	return true, nil
}
