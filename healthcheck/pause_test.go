package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// repmgrPrimary is a primary with repmgr preloaded and its extension in
// database repmgr, as on a node.
func repmgrPrimary(t *testing.T) *server {
	if _, err := os.Stat(filepath.Join(filepath.Dir(pgBin), "lib", "repmgr.so")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("repmgr is not installed (postgresql-15-repmgr)")
		}
		t.Skip("repmgr is not installed (postgresql-15-repmgr)")
	}
	p := newPrimary(t, "shared_preload_libraries = 'repmgr'")
	cfg := p.config()
	for _, s := range []struct{ db, sql string }{{"postgres", "CREATE DATABASE repmgr"}, {"repmgr", "CREATE EXTENSION repmgr"}} {
		if _, err := query(context.Background(), cfg, testPassword, s.db, s.sql); err != nil {
			t.Fatalf("%s: %v", s.sql, err)
		}
	}
	return p
}

func isPaused(t *testing.T, cfg nodeapi.Config) bool {
	t.Helper()
	rows, err := query(context.Background(), cfg, testPassword, "repmgr", pausedQuery)
	if err != nil {
		t.Fatal(err)
	}
	return rows[0][0] == "true"
}

// TestPauseFailover: the pause is set in repmgr only after its resume is
// scheduled; status and the record show it; it survives a restart of the
// database once repmgrd is back (why a timer must resume it); resume lifts it, removes the record
// and stops the timer.
func TestPauseFailover(t *testing.T) {
	p := repmgrPrimary(t)
	cfg := p.config()
	cfg.PausePath = filepath.Join(t.TempDir(), "pause.json")
	var calls []string
	pausedWhenScheduled := true
	sys := fakeSystem{systemctl: func(ctx context.Context, name string, args ...string) error {
		calls = append(calls, name+" "+strings.Join(args, " "))
		if name == "systemd-run" {
			pausedWhenScheduled = isPaused(t, cfg)
		}
		return nil
	}}
	ctx := context.Background()
	// What repmgrd does when it starts: it tells the extension its node.
	registerNode := func() {
		if _, err := query(ctx, cfg, testPassword, "repmgr", `SELECT repmgr.set_local_node_id(7)`); err != nil {
			t.Fatal(err)
		}
	}
	registerNode()

	if err := PauseFailover(ctx, sys, cfg, testPassword, "repmgr", 90*time.Second, "switchover"); err != nil {
		t.Fatal(err)
	}
	if pausedWhenScheduled {
		t.Error("the pause was set before its resume was scheduled")
	}
	if !isPaused(t, cfg) {
		t.Fatal("not paused")
	}
	run := strings.Join(calls, "\n")
	if !strings.Contains(run, "systemd-run --quiet --unit="+PauseUnit+" --on-active=90 ") || !strings.Contains(run, nodeapi.BinaryPath+" resume-failover") {
		t.Errorf("resume not scheduled as expected:\n%s", run)
	}
	st := Status(ctx, cfg, testPassword, "repmgr")
	if !st.FailoverPaused || st.Pause == nil || st.Pause.Why != "switchover" || st.Pause.Until.Sub(st.Pause.At) != 90*time.Second {
		t.Errorf("status: paused %v, record %+v, error %q", st.FailoverPaused, st.Pause, st.StatusError)
	}

	p.stop()
	p.start()
	registerNode()
	if !isPaused(t, cfg) {
		t.Error("the pause did not survive a restart of the database (repmgr keeps it in a file); the timer would not be needed")
	}

	calls = nil
	if err := ResumeFailover(ctx, sys, cfg, testPassword, "repmgr", 0); err != nil {
		t.Fatal(err)
	}
	if isPaused(t, cfg) {
		t.Error("still paused after resume")
	}
	if _, err := os.Stat(cfg.PausePath); !os.IsNotExist(err) {
		t.Errorf("the pause record is left: %v", err)
	}
	if !strings.Contains(strings.Join(calls, "\n"), "systemctl stop "+PauseUnit+".timer") {
		t.Errorf("the timer is not stopped: %q", calls)
	}
	if st := Status(ctx, cfg, testPassword, "repmgr"); st.FailoverPaused || st.Pause != nil {
		t.Errorf("status after resume: paused %v, record %+v", st.FailoverPaused, st.Pause)
	}
}

// TestResumeWaitsForTheDatabase: the timer's resume retries while the
// database is down and succeeds once it is back; with no time left it fails
// and keeps the record.
func TestResumeWaitsForTheDatabase(t *testing.T) {
	p := repmgrPrimary(t)
	cfg := p.config()
	cfg.PausePath = filepath.Join(t.TempDir(), "pause.json")
	sys := fakeSystem{systemctl: func(context.Context, string, ...string) error { return nil }}
	ctx := context.Background()
	if err := PauseFailover(ctx, sys, cfg, testPassword, "repmgr", time.Minute, "switchover"); err != nil {
		t.Fatal(err)
	}
	p.stop()
	if err := ResumeFailover(ctx, sys, cfg, testPassword, "repmgr", 0); err == nil {
		t.Fatal("resume succeeded with the database down")
	}
	if _, err := os.Stat(cfg.PausePath); err != nil {
		t.Errorf("the record went with the resume failed: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- ResumeFailover(ctx, sys, cfg, testPassword, "repmgr", time.Minute) }()
	time.Sleep(1500 * time.Millisecond)
	p.start()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if isPaused(t, cfg) {
		t.Error("still paused")
	}
}

// TestRepmgrdState: status reads repmgrd's liveness from repmgr's shared
// memory, as repmgrd itself records it: no pid registered (not running, never
// saw an upstream), a registered pid that is alive, the upstream seen at a
// check, and a registered pid whose process is gone.
func TestRepmgrdState(t *testing.T) {
	p := repmgrPrimary(t)
	cfg := p.config()
	cfg.PausePath = filepath.Join(t.TempDir(), "pause.json")
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		if _, err := query(ctx, cfg, testPassword, "repmgr", sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	state := func() nodeapi.RepmgrdState {
		t.Helper()
		st := Status(ctx, cfg, testPassword, "repmgr")
		if st.Repmgrd == nil {
			t.Fatalf("no repmgrd state (status error %q)", st.StatusError)
		}
		return *st.Repmgrd
	}
	exec(`SELECT repmgr.set_local_node_id(7)`)
	if got := state(); got != (nodeapi.RepmgrdState{Running: false, UpstreamLastSeenS: -1}) {
		t.Errorf("no repmgrd: got %+v", got)
	}
	// A live process of the database's own user stands for repmgrd (the
	// backend checks it with kill(pid, 0)): the postmaster.
	pm, err := os.ReadFile(filepath.Join(p.dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.SplitN(string(pm), "\n", 2)[0]
	exec(`SELECT repmgr.set_repmgrd_pid(` + pid + `, NULL)`)
	if got := state(); got != (nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: -1}) {
		t.Errorf("repmgrd starting: got %+v", got)
	}
	exec(`SELECT repmgr.set_upstream_last_seen(8)`)
	if got := state(); !got.Running || got.UpstreamLastSeenS < 0 || got.UpstreamLastSeenS > 1 {
		t.Errorf("repmgrd monitoring: got %+v", got)
	}
	// The check's own read: the same state, and the pause.
	exec(`SELECT repmgr.repmgrd_pause(true)`)
	if st, paused, err := ReadRepmgrd(ctx, cfg, testPassword, nodeapi.RepmgrDatabase); err != nil || !st.Running || st.UpstreamLastSeenS > 1 || !paused {
		t.Errorf("ReadRepmgrd: %+v paused %v, %v", st, paused, err)
	}
	exec(`SELECT repmgr.repmgrd_pause(false)`)
	// A pid no process has (beyond pid_max).
	exec(`SELECT repmgr.set_repmgrd_pid(2147483646, NULL)`)
	if got := state(); got.Running {
		t.Errorf("repmgrd gone: got %+v", got)
	}
}

// TestMaintenancePause: `haup pause`'s record says maintenance, why and who;
// status shows it with the database down too; a node whose flag was lost
// (a rejoin's clone) is paused again while the maintenance lasts, and not
// after it or for a switchover's pause.
func TestMaintenancePause(t *testing.T) {
	p := repmgrPrimary(t)
	cfg := p.config()
	cfg.PausePath = filepath.Join(t.TempDir(), "pause.json")
	var runs []string
	sys := fakeSystem{systemctl: func(ctx context.Context, name string, args ...string) error {
		if name == "systemd-run" {
			runs = append(runs, strings.Join(args, " "))
		}
		return nil
	}}
	ctx := context.Background()
	if _, err := query(ctx, cfg, testPassword, "repmgr", `SELECT repmgr.set_local_node_id(7)`); err != nil {
		t.Fatal(err)
	}
	if err := PauseFailoverAs(ctx, sys, cfg, testPassword, "repmgr", time.Hour, nodeapi.PauseRecord{Kind: "holiday"}); err == nil || isPaused(t, cfg) {
		t.Fatalf("an unknown kind of pause: %v", err)
	}
	if err := PauseFailoverAs(ctx, sys, cfg, testPassword, "repmgr", time.Hour, nodeapi.PauseRecord{Kind: nodeapi.PauseMaintenance, Why: "disk swap", By: "ops@laptop"}); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || !strings.Contains(runs[0], "--on-active=3600 ") || !strings.Contains(runs[0], "after a maintenance pause") {
		t.Errorf("resume scheduled as %q", runs)
	}
	st := Status(ctx, cfg, testPassword, "repmgr")
	if !st.FailoverPaused || !st.Pause.Maintenance() || st.Pause.Why != "disk swap" || st.Pause.By != "ops@laptop" || st.Pause.Until.Sub(st.Pause.At) != time.Hour {
		t.Errorf("status: paused %v, record %+v", st.FailoverPaused, st.Pause)
	}

	// A clone loses repmgr's flag: the rejoin sets it again.
	if _, err := query(ctx, cfg, testPassword, "repmgr", `SELECT repmgr.repmgrd_pause(false)`); err != nil {
		t.Fatal(err)
	}
	if paused, err := KeepMaintenancePause(ctx, cfg, testPassword, "repmgr"); err != nil || !paused || !isPaused(t, cfg) {
		t.Errorf("in maintenance: paused again %v (%v)", paused, err)
	}
	for _, rec := range []nodeapi.PauseRecord{
		{Kind: nodeapi.PauseMaintenance, At: time.Now().Add(-2 * time.Hour), Until: time.Now().Add(-time.Hour)},
		{Kind: nodeapi.PauseSwitchover, At: time.Now(), Until: time.Now().Add(time.Hour)},
	} {
		b, _ := json.Marshal(rec)
		os.WriteFile(cfg.PausePath, b, 0o644)
		query(ctx, cfg, testPassword, "repmgr", `SELECT repmgr.repmgrd_pause(false)`)
		if paused, err := KeepMaintenancePause(ctx, cfg, testPassword, "repmgr"); err != nil || paused || isPaused(t, cfg) {
			t.Errorf("%s until %s: paused again %v (%v)", rec.Kind, rec.Until, paused, err)
		}
	}

	// The record is on the host: seen with the database down.
	b, _ := json.Marshal(nodeapi.PauseRecord{Kind: nodeapi.PauseMaintenance, Why: "disk swap", At: time.Now(), Until: time.Now().Add(time.Hour)})
	os.WriteFile(cfg.PausePath, b, 0o644)
	p.stop()
	if st := Status(ctx, cfg, testPassword, "repmgr"); st.Role != nodeapi.RoleDown || !st.Pause.Maintenance() {
		t.Errorf("database down: role %s, record %+v", st.Role, st.Pause)
	}
}

// TestEndPause: the agent's end of an overdue pause resumes only the pause
// it saw (one set meanwhile is kept), waits for a change of the pause in
// progress (the lock), and removes the record once repmgr's flag is lifted.
func TestEndPause(t *testing.T) {
	p := repmgrPrimary(t)
	cfg := p.config()
	cfg.PausePath = filepath.Join(t.TempDir(), "pause.json")
	sys := fakeSystem{systemctl: func(context.Context, string, ...string) error { return nil }}
	ctx := context.Background()
	if _, err := query(ctx, cfg, testPassword, "repmgr", `SELECT repmgr.set_local_node_id(7)`); err != nil {
		t.Fatal(err)
	}
	if err := PauseFailoverAs(ctx, sys, cfg, testPassword, "repmgr", 20*time.Second, nodeapi.PauseRecord{Kind: nodeapi.PauseMaintenance}); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadPause(cfg.PausePath)
	if err != nil || rec == nil {
		t.Fatalf("record %+v: %v", rec, err)
	}

	// Another pause than the one seen (replaced meanwhile): kept.
	if err := EndPause(ctx, cfg, testPassword, rec.At.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !isPaused(t, cfg) {
		t.Error("a pause set after the one the agent saw was ended")
	}
	if _, err := os.Stat(cfg.PausePath); err != nil {
		t.Errorf("the record of a pause set meanwhile went: %v", err)
	}

	// A change of the pause under way holds the lock: the end waits, and
	// gives up with its context.
	unlock, err := lockPause(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err = EndPause(short, cfg, testPassword, rec.At)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "held by another change of the pause") {
		t.Errorf("end while the lock is held: %v", err)
	}
	if !isPaused(t, cfg) {
		t.Error("ended while another change of the pause held the lock")
	}
	unlock()

	if err := EndPause(ctx, cfg, testPassword, rec.At); err != nil {
		t.Fatal(err)
	}
	if isPaused(t, cfg) {
		t.Error("still paused after the agent ended the pause")
	}
	if _, err := os.Stat(cfg.PausePath); !os.IsNotExist(err) {
		t.Errorf("the record is left: %v", err)
	}
	// Nothing recorded: nothing to do.
	if err := EndPause(ctx, cfg, testPassword, rec.At); err != nil {
		t.Errorf("end with no record: %v", err)
	}
}

// TestPauseNotScheduledPausesNothing: a resume that cannot be scheduled
// leaves nothing paused and no record; the timer of an earlier pause is
// stopped first. No database is reached (none runs here).
func TestPauseNotScheduledPausesNothing(t *testing.T) {
	t.Parallel()
	cfg := nodeapi.Config{Host: "127.0.0.1", Port: freePort(t), DeadlineMillis: 300, PausePath: filepath.Join(t.TempDir(), "pause.json")}
	var calls []string
	sys := fakeSystem{systemctl: func(_ context.Context, name string, args ...string) error {
		calls = append(calls, name+" "+strings.Join(args, " "))
		if name == "systemd-run" {
			return errors.New("systemd-run: Failed to connect to bus")
		}
		return nil
	}}
	err := PauseFailover(context.Background(), sys, cfg, testPassword, "repmgr", 90*time.Second, "switchover")
	if err == nil || !strings.Contains(err.Error(), "schedule the resume (nothing paused): systemd-run: Failed to connect to bus") {
		t.Errorf("error %v", err)
	}
	want := []string{"systemctl stop " + PauseUnit + ".timer " + PauseUnit + ".service", "systemctl reset-failed " + PauseUnit + ".timer " + PauseUnit + ".service"}
	if len(calls) != 3 || calls[0] != want[0] || calls[1] != want[1] || !strings.HasPrefix(calls[2], "systemd-run --quiet --unit="+PauseUnit+" --on-active=90 ") {
		t.Errorf("ran %q", calls)
	}
	if _, err := os.Stat(cfg.PausePath); !os.IsNotExist(err) {
		t.Errorf("a record was written: %v", err)
	}
}
