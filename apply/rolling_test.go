package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// TestRollingStepsRun takes the steps of a rolling change but the
// switchover against fake hosts: a standby's container, then its wait
// until it streams and its repmgrd watches the primary; the extensions on the new primary; a wait that times
// out names the node and who is primary. The steps are given (tasks'
// TestRollingChangeShape reads the plan's); of the plan, a step reads the
// nodes' places and the inventory's repmgrd settings.
func TestRollingStepsRun(t *testing.T) {
	plan := pairPlan(t)
	hosts := tasks.Hosts{
		"pg-0": remote.NewFake("pg-0").OnStdout("-status repmgr", `{"role":"down","reason":"stopped"}`),
		"pg-1": remote.NewFake("pg-1").OnStdout("-status repmgr", armedStandby(t)).OnStdout("update-extensions", "timescaledb 2.17.2\n"),
	}
	var ran []int
	var said []string
	r := rollingRun{plan: plan, hosts: hosts, from: "pg-0", to: "pg-1",
		opts:     Options{ReadyTimeout: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond},
		runStage: func(s tasks.Stage, idx []int) error { ran = append(ran, idx...); return nil },
		progress: func(node, format string, args ...any) { said = append(said, node+": "+fmt.Sprintf(format, args...)) },
	}
	say := func(node, format string, args ...any) { r.progress(node, format, args...) }
	for _, s := range []tasks.RollingStep{{Kind: tasks.RollStandby, Node: "pg-1"}, {Kind: tasks.RollExtensions, Node: "pg-1"}} {
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
	err := r.take(context.Background(), tasks.RollingStep{Kind: tasks.RollOldPrimary, Node: "pg-0"}, say)
	if err == nil || !strings.Contains(err.Error(), "pg-0: not streaming within") || !strings.HasSuffix(err.Error(), "; pg-1 is the primary") {
		t.Errorf("old primary not streaming: %v", err)
	} // Streaming, but repmgrd never reaches its upstream: the step fails
	// and says so.
	r.hosts["pg-0"] = remote.NewFake("pg-0").OnStdout("-status repmgr", standbyAnswer(t, &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: -1}))
	r.arm = 200 * time.Millisecond
	err = r.take(context.Background(), tasks.RollingStep{Kind: tasks.RollOldPrimary, Node: "pg-0"}, say)
	if err == nil || !strings.Contains(err.Error(), "pg-0: streams, but repmgrd has not reached its upstream within 200ms") || !strings.HasSuffix(err.Error(), "; pg-1 is the primary") {
		t.Errorf("old primary's repmgrd not armed: %v", err)
	}
}
