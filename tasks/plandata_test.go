package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
)

// containerChange is the node's change of its container, or a test failure.
func containerChange(t *testing.T, np *NodePlan) Change {
	t.Helper()
	for _, c := range np.Changes {
		if c.Kind == KindContainer {
			return c
		}
	}
	t.Fatalf("%s: no container change in %v", np.Node.Name, np.Changes)
	return Change{}
}

// TestRollingChangeShape reads a rolling change as data: the primary's
// container change is recreated after a switchover to the streaming
// standby, the standby's goes first, the steps apply takes are the
// standby, the switchover, the old primary and the extensions; without a
// streaming standby the primary's change is blocked instead.
func TestRollingChangeShape(t *testing.T) {
	for _, tc := range []struct {
		name         string
		plan         func(t *testing.T) *Plan
		rollingTo    string
		blocked      bool
		standbyFirst bool
		restart      bool
	}{
		{name: "new image", plan: func(t *testing.T) *Plan { return imageChangeCluster(t, true) },
			rollingTo: "pg-1", standbyFirst: true},
		{name: "new image, no streaming standby", plan: func(t *testing.T) *Plan { return imageChangeCluster(t, false) },
			blocked: true},
		{name: "repmgr password", plan: func(t *testing.T) *Plan {
			return rotationCluster(t, desired.RepmgrSecretPath, "primary", "standby")
		}, rollingTo: "pg-1", standbyFirst: true, restart: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := tc.plan(t)
			primary, standby := containerChange(t, plan.Nodes[0]), containerChange(t, plan.Nodes[1])
			if r := primary.container; r == nil || r.rollingTo != tc.rollingTo || r.restart != tc.restart {
				t.Fatalf("primary's shape %+v, want rolling to %q, restart %v", r, tc.rollingTo, tc.restart)
			}
			if (primary.Blocked != "") != tc.blocked {
				t.Errorf("primary's change blocked %q, want blocked %v", primary.Blocked, tc.blocked)
			}
			task, ok := primary.Task().(RunContainer)
			if !ok || !task.Replace || task.Spec.Name != plan.Inventory.Database.ContainerName || task.Spec.Image != plan.Inventory.Database.Image {
				t.Errorf("primary's task %#v, want the container recreated from the inventory's image", primary.Task())
			}
			if r := standby.container; r == nil || r.standbyFirst != tc.standbyFirst || r.rollingTo != "" {
				t.Errorf("standby's shape %+v, want standby first %v", r, tc.standbyFirst)
			}
			from, to := plan.Rolling()
			if to != tc.rollingTo || (from != nil) != (tc.rollingTo != "") {
				t.Errorf("plan.Rolling() = %v, %q", from, to)
			}
			var want []RollingStep
			if tc.rollingTo != "" {
				want = []RollingStep{{RollStandby, "pg-1"}, {RollSwitchover, "pg-1"}, {RollOldPrimary, "pg-0"}, {RollExtensions, "pg-1"}}
			}
			if got := plan.RollingSteps(); !slices.Equal(got, want) {
				t.Errorf("steps %v, want %v", got, want)
			}
		})
	}
}

// TestRotationTasks reads a password rotation's tasks: the new
// password staged beside the live file on every node, set inside the
// database on the primary from the staged file, then moved into place;
// with two primaries the file changes are refused and install the live
// file as it would.
func TestRotationTasks(t *testing.T) {
	plan := rotationCluster(t, desired.PostgresSecretPath, "primary", "standby")
	next := desired.PostgresSecretPath + nodeapi.NextSuffix
	var set []SetPassword
	for _, np := range plan.Nodes {
		var swaps []SwapPassword
		for _, c := range np.Changes {
			switch task := c.Task().(type) {
			case InstallFile:
				if c.Name == desired.PostgresSecretPath && task.File.Path != next {
					t.Errorf("%s: the password file installs %s, want %s", np.Node.Name, task.File.Path, next)
				}
			case SwapPassword:
				swaps = append(swaps, task)
			case SetPassword:
				if np != plan.Nodes[0] {
					t.Errorf("%s sets the password, not the primary", np.Node.Name)
				}
				set = append(set, task)
			}
		}
		if len(swaps) != 1 || swaps[0] != (SwapPassword{Staged: next, Live: desired.PostgresSecretPath}) {
			t.Errorf("%s: swaps %+v", np.Node.Name, swaps)
		}
	}
	if len(set) != 1 || set[0] != (SetPassword{Role: "postgres", File: next}) {
		t.Errorf("set-password tasks %+v", set)
	}

	plan = rotationCluster(t, desired.PostgresSecretPath, "primary", "primary")
	for _, np := range plan.Nodes {
		c := np.passwordChange(desired.PostgresSecretPath)
		if c == nil || c.file.password.refused == "" || c.file.password.rotation != nil || c.Blocked != c.file.password.refused {
			t.Fatalf("%s: two primaries: %+v", np.Node.Name, c)
		}
		if task, ok := c.Task().(InstallFile); !ok || task.File.Path != desired.PostgresSecretPath {
			t.Errorf("%s: a refused change's task %#v", np.Node.Name, c.Task())
		}
	}
}

// TestRejoinTasks: haup rejoin of a standby whose container runs
// follows the primary on its own data, cloning only as a fallback; with
// --clone it clones at once; both report the clone's progress.
func TestRejoinTasks(t *testing.T) {
	plan := imageChangeCluster(t, true)
	primary := plan.Nodes[0].Node
	for _, clone := range []bool{false, true} {
		rp, err := RejoinPlanWith(plan, "pg-1", clone)
		if err != nil {
			t.Fatal(err)
		}
		c := rp.Nodes[1].Changes[0]
		want := Rejoin{Addr: desired.DBAddress(rp.Nodes[1].Node), Repmgr: rp.Inventory.Database.Repmgr}
		switch task := c.Task().(type) {
		case Follow:
			if clone || task.Clone != want || !strings.Contains(task.Conninfo, "host="+desired.DBAddress(primary)+" ") ||
				!strings.Contains(task.Conninfo, "application_name=pg-1 ") {
				t.Errorf("clone %v: follow %+v", clone, task)
			}
		case Rejoin:
			if !clone || task != want {
				t.Errorf("clone %v: rejoin %+v", clone, task)
			}
		default:
			t.Errorf("clone %v: task %#v", clone, c.Task())
		}
		if watchOf(c.Task()) == nil {
			t.Errorf("clone %v: no watch of the clone", clone)
		}
	}
}

// TestTaskScripts runs each task against a fake host: the script it sends,
// and how a failure reads.
func TestTaskScripts(t *testing.T) {
	spec := desired.ContainerSpec{Name: "pg0", Image: "example/pg:16"}
	for _, tc := range []struct {
		name string
		task Task
		want []string // in the script, in order
		err  string   // in the error when the host fails
	}{
		{"step", ExecStep{"do it", "echo hi\n"}, []string{"echo hi"}, "do it"},
		{"package", InstallKeepalived{}, []string{"apt-get install"}, "install keepalived"},
		{"dir", MakeDir{desired.Dir{Path: "/etc/haup", Mode: 0o750, UID: 1, GID: 2}}, []string{"mkdir -p /etc/haup && chown 1:2 /etc/haup && chmod 0750 /etc/haup"}, "dir /etc/haup"},
		{"chmod", ChmodFile{desired.File{Path: "/etc/x", Mode: 0o600}}, []string{"chown 0:0 /etc/x && chmod 0600 /etc/x"}, "file /etc/x"},
		{"pull", PullImage{"example/pg:16"}, []string{"example/pg:16"}, "pull example/pg:16"},
		{"run", RunContainer{Spec: spec}, []string{"docker"}, "run container pg0"},
		{"recreate", RunContainer{Spec: spec, Replace: true}, []string{"stop-database", "docker rm -f pg0"}, "run container pg0"},
		{"start", StartContainer{"pg0"}, []string{"docker start pg0"}, "start container pg0"},
		{"reset witness", ResetWitness{Spec: spec, DataDir: "/srv/pg"}, []string{"docker rm -f pg0", "find /srv/pg -mindepth 1 -delete"}, "reset the witness"},
		{"tls reload", ReloadTLS{"pg0"}, []string{"c=pg0", "tls-key"}, "TLS certificate"},
		{"swap", SwapPassword{Staged: "/a.next", Live: "/a"}, []string{"mv -f /a.next /a"}, "fails"},
		{"set password", SetPassword{Role: "repmgr", File: "/a"}, []string{"set-password -role repmgr -file /a"}, "fails"},
		{"rejoin", Rejoin{Addr: "10.0.0.1"}, []string{"systemctl start " + nodeapi.RejoinUnit, "-status repmgr"}, "rejoin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := remote.NewFake("pg-0").OnStdout("-status repmgr", armedStandby(t)).On("", func(string) (remote.Result, error) { return remote.Result{}, nil })
			if err := run(context.Background(), h, tc.task); err != nil {
				t.Fatal(err)
			}
			script := strings.Join(h.Calls(), "")
			at := 0
			for _, w := range tc.want {
				i := strings.Index(script[at:], w)
				if i < 0 {
					t.Fatalf("script lacks %q after byte %d:\n%s", w, at, script)
				}
				at += i + len(w)
			}
			bad := remote.NewFake("pg-0").On("", func(string) (remote.Result, error) { return remote.Result{}, errors.New("fails") })
			if err := run(context.Background(), bad, tc.task); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("failure reads %v, want %q", err, tc.err)
			}
		})
	}
}

// TestFollowFallsBackToClone: a follow whose start as a standby fails
// clones instead.
func TestFollowFallsBackToClone(t *testing.T) {
	h := remote.NewFake("pg-1").
		Expect(" follow -timeout 60s ", func(string) (remote.Result, error) { return remote.Result{}, errors.New("no") }).
		Expect("systemctl start "+nodeapi.RejoinUnit, func(string) (remote.Result, error) { return remote.Result{}, nil }).
		Expect("-status repmgr", func(string) (remote.Result, error) { return remote.Result{Stdout: []byte(armedStandby(t))}, nil })
	if err := run(context.Background(), h, Follow{Conninfo: "host=10.0.0.1", Clone: Rejoin{}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), h, Nothing{}); err != nil || len(h.Calls()) != 3 {
		t.Errorf("nothing ran something: %v %q", err, h.Calls())
	}
}

// TestRollingStepsRun takes the steps of a rolling change but the
// switchover against fake hosts: a standby's container, then its wait
// until it streams and its repmgrd watches the primary; the extensions on the new primary; a wait that times
// out names the node and who is primary.
func TestRollingStepsRun(t *testing.T) {
	plan := imageChangeCluster(t, true)
	hosts := Hosts{
		"pg-0": remote.NewFake("pg-0").OnStdout("-status repmgr", `{"role":"down","reason":"stopped"}`),
		"pg-1": remote.NewFake("pg-1").OnStdout("-status repmgr", armedStandby(t)).OnStdout("update-extensions", "timescaledb 2.17.2\n"),
	}
	var ran []int
	var said []string
	r := rollingRun{plan: plan, hosts: hosts, from: "pg-0", to: "pg-1",
		opts:     ApplyOptions{ReadyTimeout: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond},
		runStage: func(s Stage, idx []int) error { ran = append(ran, idx...); return nil },
		progress: func(node, format string, args ...any) { said = append(said, node+": "+fmt.Sprintf(format, args...)) },
	}
	say := func(node, format string, args ...any) { r.progress(node, format, args...) }
	for _, s := range []RollingStep{{RollStandby, "pg-1"}, {RollExtensions, "pg-1"}} {
		if err := r.take(context.Background(), s, say); err != nil {
			t.Fatalf("%v: %v", s, err)
		}
	}
	want := []string{
		"pg-1: its container, then a wait until it streams from pg-0 again",
		"pg-1: waiting until it streams again",
		"pg-1: updating the extensions the new image brings",
		"pg-1: timescaledb 2.17.2",
	}
	if !slices.Equal(said, want) || !slices.Equal(ran, []int{1}) {
		t.Errorf("said %q, ran %v", said, ran)
	}
	err := r.take(context.Background(), RollingStep{RollOldPrimary, "pg-0"}, say)
	if err == nil || !strings.Contains(err.Error(), "pg-0: not streaming within") || !strings.HasSuffix(err.Error(), "; pg-1 is the primary") {
		t.Errorf("old primary not streaming: %v", err)
	} // Streaming, but repmgrd never reaches its upstream: the step fails
	// and says so.
	r.hosts["pg-0"] = remote.NewFake("pg-0").OnStdout("-status repmgr", standbyAnswer(t, &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: -1}))
	r.arm = 200 * time.Millisecond
	err = r.take(context.Background(), RollingStep{RollOldPrimary, "pg-0"}, say)
	if err == nil || !strings.Contains(err.Error(), "pg-0: streams, but repmgrd has not reached its upstream within 200ms") || !strings.HasSuffix(err.Error(), "; pg-1 is the primary") {
		t.Errorf("old primary's repmgrd not armed: %v", err)
	}
}
