package tasks

import (
	"slices"
	"strings"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/nodeapi"
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
// --clone it clones at once (apply's TestRejoinTasksAreWatched: both report
// the clone's progress).
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
	}
}
