package apply

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/fixture/nodefacts"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// TestRunPause: under both locks, the standby paused before the primary,
// each with the maintenance record's words; a node that fails undoes the
// ones before it.
func TestRunPause(t *testing.T) {
	op, err := tasks.PlanPause(pairPlan(t), 90*time.Minute, "disk swap", "ops@laptop", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ok := func(string) (remote.Result, error) { return remote.Result{}, nil }
	want := "pause-failover -for 1h30m0s -kind maintenance -why 'disk swap' -by ops@laptop"
	var order []string
	pause := func(node string) func(string) (remote.Result, error) {
		return func(s string) (remote.Result, error) {
			if !strings.Contains(s, want) {
				t.Errorf("%s: %q lacks %q", node, s, want)
			}
			order = append(order, node)
			return remote.Result{}, nil
		}
	}
	p := remote.NewFake("pg-0").Expect("set -C", ok).Expect("pause-failover", pause("pg-0")).Expect("rm -f /run/haup/lock", ok)
	s := remote.NewFake("pg-1").Expect("set -C", ok).Expect("pause-failover", pause("pg-1")).Expect("rm -f /run/haup/lock", ok)
	var progress strings.Builder
	if err := RunPause(context.Background(), op, tasks.Hosts{"pg-0": p, "pg-1": s}, &progress); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*remote.Fake{p, s} {
		if err := h.Verify(); err != nil {
			t.Error(err)
		}
	}
	if strings.Join(order, ",") != "pg-1,pg-0" {
		t.Errorf("paused in the order %v, want the standby first", order)
	}

	// The primary fails: the standby is resumed, and the error says so.
	p = remote.NewFake("pg-0").Expect("set -C", ok).Expect("pause-failover", func(string) (remote.Result, error) {
		return remote.Result{}, &remote.ExitError{Code: 1}
	}).Expect("rm -f /run/haup/lock", ok)
	s = remote.NewFake("pg-1").Expect("set -C", ok).Expect("pause-failover", ok).Expect("resume-failover -wait 30s", ok).Expect("rm -f /run/haup/lock", ok)
	err = RunPause(context.Background(), op, tasks.Hosts{"pg-0": p, "pg-1": s}, &progress)
	if err == nil || !strings.Contains(err.Error(), "pg-0: pause") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("failed pause: %v", err)
	}
	for _, h := range []*remote.Fake{p, s} {
		if err := h.Verify(); err != nil {
			t.Error(err)
		}
	}
}

// TestRunResume: every paused node is tried, whatever the others did; a
// failure names its node and its own timer.
func TestRunResume(t *testing.T) {
	plan := pairPlan(t)
	nodefacts.InMaintenanceNow(plan.Nodes[0].Facts, plan.Nodes[1].Facts)
	op, err := tasks.PlanResume(plan, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ok := func(string) (remote.Result, error) { return remote.Result{}, nil }
	p := remote.NewFake("pg-0").Expect("set -C", ok).Expect("resume-failover -wait 30s", func(string) (remote.Result, error) {
		return remote.Result{}, errors.New("repmgr.repmgrd_pause(false): connection refused")
	}).Expect("rm -f /run/haup/lock", ok)
	s := remote.NewFake("pg-1").Expect("set -C", ok).Expect("resume-failover -wait 30s", ok).Expect("rm -f /run/haup/lock", ok)
	var progress strings.Builder
	err = RunResume(context.Background(), op, tasks.Hosts{"pg-0": p, "pg-1": s}, &progress)
	if err == nil || !strings.Contains(err.Error(), "pg-0: resume") || !strings.Contains(err.Error(), "its own timer still resumes it") {
		t.Errorf("resume: %v", err)
	}
	if !strings.Contains(progress.String(), "pg-1: repmgrd's automatic failover resumed") {
		t.Errorf("progress: %s", progress.String())
	}
	for _, h := range []*remote.Fake{p, s} {
		if err := h.Verify(); err != nil {
			t.Error(err)
		}
	}
}
