package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/progress"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// TestCloneReport: samples of the primary's base backups become one node's
// clone progress: the phase before the files go out, bytes of the total
// with the rate, the backup sent elsewhere ignored, a line when it ends.
func TestCloneReport(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var buf bytes.Buffer
	rep := progress.New(&buf, progress.Options{Now: func() time.Time { return at }})
	c := &cloneReport{rep: rep, node: "pg-1", addr: "10.0.0.11"}
	total := int64(800 << 20)
	other := nodeapi.BaseBackup{PID: 7, Client: "10.0.0.12", Phase: phaseStreaming, Total: &total, Streamed: 5 << 20}
	sample := func(phase string, streamed int64) {
		c.sample(nodeapi.CloneProgress{Primary: "pg-0", Backups: []nodeapi.BaseBackup{
			other, {PID: 42, Client: "10.0.0.11", Phase: phase, Total: &total, Streamed: streamed}}})
		at = at.Add(2 * time.Second)
	}
	sample("waiting for checkpoint to finish", 0)
	sample("waiting for checkpoint to finish", 0)
	for i := int64(0); i <= 4; i++ {
		sample(phaseStreaming, i*200<<20)
	}
	sample("transferring wal files", 816<<20)
	// The backup ended; the other node's, alone now, is not this one's.
	c.sample(nodeapi.CloneProgress{Primary: "pg-0", Backups: []nodeapi.BaseBackup{other}})
	c.sample(nodeapi.CloneProgress{Primary: "pg-0", Backups: []nodeapi.BaseBackup{other}})
	golden(t, "clone-progress.txt", buf.Bytes())
}

func TestPullLayers(t *testing.T) {
	out := `16: Pulling from haup/postgresql-repmgr
a2318d6c47ec: Already exists
0c6cfd2d8d4e: Pulling fs layer
9bd1a8e6dfbb: Pulling fs layer
5e4f2a1b0c3d: Waiting
0c6cfd2d8d4e: Verifying Checksum
0c6cfd2d8d4e: Download complete
0c6cfd2d8d4e: Pull complete
9bd1a8e6dfbb: Download complete
`
	if done, total := pullLayers(out); done != 2 || total != 4 {
		t.Errorf("pullLayers = %d of %d, want 2 of 4", done, total)
	}
	if done, total := pullLayers(""); done != 0 || total != 0 {
		t.Errorf("no output: %d of %d", done, total)
	}
}

// TestPullScriptKeepsOutputAside: the pull's output goes to the file the
// watch reads, and only its last lines to stderr on failure.
func TestPullScriptKeepsOutputAside(t *testing.T) {
	s := pullScript("registry.example/pg:16")
	log := pullLog("registry.example/pg:16")
	for _, want := range []string{"docker pull " + shq("registry.example/pg:16") + " >" + shq(log) + " 2>&1", "tail -n 5 " + shq(log) + " >&2", "rm -f " + shq(log), "exit $rc"} {
		if !strings.Contains(s, want) {
			t.Errorf("pull script lacks %q:\n%s", want, s)
		}
	}
}

// TestApplyRejoinReportsClone: while `haup rejoin --clone` waits for the
// node's rejoin unit, the clone is reported from the primary's base backup
// over the node's connection, at least three updates with bytes and a
// rate, and the watch ends with the change.
func TestApplyRejoinReportsClone(t *testing.T) {
	rp, err := tasks.RejoinPlanWith(pairPlan(t), "pg-1", true)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(1 << 30)
	var mu sync.Mutex
	samples := 0
	enough := make(chan struct{})
	h := remote.NewFake("pg-1").
		On("progress clone", func(string) (remote.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			samples++
			if samples == 8 {
				close(enough)
			}
			b, _ := json.Marshal(nodeapi.CloneProgress{Primary: "pg-0", Backups: []nodeapi.BaseBackup{
				{PID: 42, Phase: phaseStreaming, Total: &total, Streamed: int64(samples) * 64 << 20}}})
			return remote.Result{Stdout: b}, nil
		}).
		On("systemctl start "+nodeapi.RejoinUnit, func(string) (remote.Result, error) {
			select {
			case <-enough:
				return remote.Result{}, nil
			case <-time.After(10 * time.Second):
				return remote.Result{}, &remote.ExitError{Code: 1, Stderr: "no progress was asked for"}
			}
		}).
		OnStdout("-status repmgr", armedStandby(t)).
		On("", func(string) (remote.Result, error) { return remote.Result{}, nil })
	var buf syncBuffer
	rep := progress.New(&buf, progress.Options{Every: 20 * time.Millisecond})
	if _, err := Apply(context.Background(), rp, tasks.Hosts{"pg-0": remote.NewFake("pg-0"), "pg-1": h}, Options{Progress: rep}); err != nil {
		t.Fatal(err)
	}
	updates := 0
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(l, "pg-1: cloning from pg-0: ") && strings.Contains(l, " MiB of 1.0 GiB") && strings.Contains(l, "/s") {
			updates++
		}
	}
	if updates < 3 {
		t.Errorf("%d clone updates with bytes and a rate, want at least 3:\n%s", updates, buf.String())
	}
	mu.Lock()
	before := samples
	mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if samples != before {
		t.Errorf("the clone was still sampled after the change ended")
	}
}

// syncBuffer is a bytes.Buffer for writers on several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWatchPullAndCatchUp: the pull's layers and the catch-up's bytes left
// are read over the node's connection and reported, until stopped.
func TestWatchPullAndCatchUp(t *testing.T) {
	asked := make(chan struct{}, 100)
	h := remote.NewFake("pg-1").
		On("cat "+shq(pullLog("example/pg:16")), func(string) (remote.Result, error) {
			asked <- struct{}{}
			return remote.Result{Stdout: []byte("a2318d6c47ec: Already exists\n0c6cfd2d8d4e: Pulling fs layer\n9bd1a8e6dfbb: Pull complete\n")}, nil
		}).
		On("progress replay "+shq("0/3000060"), func(string) (remote.Result, error) {
			asked <- struct{}{}
			return remote.Result{Stdout: []byte(`{"receive_left":0,"replay_left":1536}`)}, nil
		})
	for _, tc := range []struct {
		w    watch
		want string
	}{
		{watchPull("example/pg:16"), "pg-1: pulling example/pg:16: 2 of 3 layers\n"},
		{watchCatchUp("0/3000060", "pg-0"), "pg-1: catching up with pg-0's last WAL: 0 B left to receive, 1.5 KiB to replay"},
	} {
		var buf syncBuffer
		stop := startWatch(context.Background(), tc.w, h, progress.New(&buf, progress.Options{Every: 10 * time.Millisecond}))
		for range 3 {
			select {
			case <-asked:
			case <-time.After(10 * time.Second):
				t.Fatal("the watch does not ask the node")
			}
		}
		stop()
		for len(asked) > 0 {
			<-asked
		}
		got := buf.String()
		if !strings.Contains(got, tc.want) {
			t.Errorf("no update:\n%s", got)
		}
	}
}
