package apply

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"
	"github.com/haup-project/haup/internal/testenv"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got)
}

// pairPlan is the example pair converged (nodefacts.Pair: pg-0 the primary
// holding the VIP, pg-1 its streaming standby), planned: nothing to change.
func pairPlan(t *testing.T) *tasks.Plan {
	t.Helper()
	inv := fixture.Example(t)
	plan := &tasks.Plan{Inventory: inv}
	for _, n := range nodefacts.Pair(t, inv, nil) {
		plan.Nodes = append(plan.Nodes, tasks.Build(inv, n.Desired, n.Facts, tasks.Options{}))
	}
	return plan
}

// TestApplyRefusesABlockedPlan: a plan with a change that needs a flag
// (tasks' TestPrimaryRecreateIsBlocked: the container of a node that is, or
// may be, the primary recreated without --allow-primary-restart) is not
// applied at all.
func TestApplyRefusesABlockedPlan(t *testing.T) {
	inv := fixture.Example(t)
	for _, role := range []string{"primary", ""} { // "": role unknown, it may be the primary
		d, err := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		f := nodefacts.Converged(t, d, role)
		f.Container.Spec = strings.Replace(f.Container.Spec, "REPMGR_CONNECT_TIMEOUT", "REPMGR_OLD", 1)
		plan := &tasks.Plan{Inventory: inv, Nodes: []*tasks.NodePlan{tasks.Build(inv, d, f, tasks.Options{})}}
		if plan.Blocked() == nil {
			t.Fatalf("role %q: the plan is not blocked", role)
		}
		if _, err := Apply(context.Background(), plan, tasks.Hosts{}, Options{}); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("role %q: apply of a blocked plan: %v", role, err)
		}
	}
}

// TestApplyGreenfieldOrder runs a greenfield plan against fake hosts and
// checks that the primary's container starts, and answers, before the
// standby's, and that keepalived starts last.
func TestApplyGreenfieldOrder(t *testing.T) {
	inv := fixture.Example(t)
	var mu sync.Mutex
	var events []string
	record := func(ev string) func(string) (remote.Result, error) {
		return func(string) (remote.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
			return remote.Result{}, nil
		}
	}
	hosts := tasks.Hosts{}
	for _, n := range inv.Nodes {
		h := remote.NewFake(n.Name)
		h.On("docker run", record(n.Name+" run")).
			On("systemctl enable --now keepalived", record(n.Name+" keepalived")).
			On(nodeapi.BinaryPath+" -status repmgr || true", func(s string) (remote.Result, error) {
				record(n.Name + " ready?")(s)
				return remote.Result{Stdout: []byte(`{"role":"primary"}`)}, nil
			}).
			On("", func(string) (remote.Result, error) { return remote.Result{}, nil })
		hosts[n.Name] = h
	}
	plan := &tasks.Plan{Inventory: inv}
	for _, n := range inv.Nodes {
		f := nodefacts.Bare(t, n)
		d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		plan.Nodes = append(plan.Nodes, tasks.Build(inv, d, f, tasks.Options{}))
	}
	recaps, err := Apply(context.Background(), plan, hosts, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pg-0 run", "pg-0 ready?", "pg-1 run"}
	if len(events) < 5 || strings.Join(events[:3], ",") != strings.Join(want, ",") {
		t.Fatalf("events = %v, want %v then both keepalived starts", events, want)
	}
	for _, r := range recaps {
		if r.Failed != 0 || r.Changed != len(plan.Nodes[0].Changes) {
			t.Errorf("recap %+v", r)
		}
	}
	// Every file went through the staging area, never through a script.
	up := hosts["pg-0"].(*remote.Fake).Uploaded()
	if len(up) != 10 {
		t.Errorf("%d files uploaded, want 10", len(up))
	}
	for _, s := range hosts["pg-0"].(*remote.Fake).Calls() {
		for _, secret := range inv.SecretValues() {
			if strings.Contains(s, secret) {
				t.Fatalf("a secret appears in a remote script:\n%s", s)
			}
		}
	}
}

func TestKeepalivedValidationFailureKeepsLiveFile(t *testing.T) {
	h := remote.NewFake("pg-0").On("keepalived -t", func(string) (remote.Result, error) {
		return remote.Result{}, &remote.ExitError{Code: 3, Stderr: "(Line 12) unknown keyword 'bogus'"}
	})
	f := desired.File{Path: desired.KeepalivedConfPath, Mode: 0o600, Content: []byte("bogus\n"), Validate: "keepalived -t -f %s"}
	err := run(context.Background(), h, tasks.InstallFile{File: f})
	if err == nil || !strings.Contains(err.Error(), "live file is unchanged") || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v", err)
	}
}

// TestApplyLocksChangesAndReleasesInOrder: a one-file change on a converged
// node runs exactly lock, the run's record, upload and install, the record's
// step, reload, the record removed, release, in that order.
func TestApplyLocksChangesAndReleasesInOrder(t *testing.T) {
	inv := fixture.Example(t)
	d, _ := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
	f := nodefacts.Converged(t, d, "primary")
	conf := f.Files[desired.KeepalivedConfPath]
	conf.SHA256 = strings.Repeat("0", 64)
	f.Files[desired.KeepalivedConfPath] = conf
	plan := &tasks.Plan{Inventory: inv, Nodes: []*tasks.NodePlan{tasks.Build(inv, d, f, tasks.Options{})}}
	ok := func(string) (remote.Result, error) { return remote.Result{}, nil }
	h := remote.NewFake("pg-0").
		Expect("set -C", ok).
		Expect(`"step":"packages, directories, files, images"`, ok).
		Expect("keepalived -t", ok).
		Expect(`"step":"services (keepalived, units)"`, ok).
		Expect("systemctl reload keepalived", ok).
		Expect("rm -f /var/lib/haup/apply.json", ok).
		Expect("rm -f /run/haup/lock", ok)
	if _, err := Apply(context.Background(), plan, tasks.Hosts{"pg-0": h}, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := h.Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestApplyRefusesALiveLock: another run's lock stops apply before any change.
func TestApplyRefusesALiveLock(t *testing.T) {
	inv := fixture.Example(t)
	d, _ := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
	f := nodefacts.Converged(t, d, "primary")
	f.Keepalived.LoadedSHA256 = ""
	plan := &tasks.Plan{Inventory: inv, Nodes: []*tasks.NodePlan{tasks.Build(inv, d, f, tasks.Options{})}}
	held := `{"holder":"ops@elsewhere pid 1","host":"elsewhere","pid":1,"command":"apply","since":"2026-11-24T10:00:00Z","expires":"2999-01-01T00:00:00Z","nonce":"x"}`
	h := remote.NewFake("pg-0").Expect("set -C", func(string) (remote.Result, error) {
		return remote.Result{Stdout: []byte(held)}, &remote.ExitError{Code: exitLocked}
	})
	_, err := Apply(context.Background(), plan, tasks.Hosts{"pg-0": h}, Options{})
	if err == nil || !strings.Contains(err.Error(), "locked by ops@elsewhere pid 1 (apply)") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("err = %v", err)
	}
	if n := len(h.Calls()); n != 1 {
		t.Fatalf("%d scripts ran, want only the lock attempt", n)
	}
}
