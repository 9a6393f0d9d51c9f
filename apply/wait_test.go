package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
)

// armedStandby is a streaming standby's -status answer whose repmgrd
// reached its upstream a second ago.
func armedStandby(t *testing.T) string {
	return standbyAnswer(t, &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: 1})
}

func standbyAnswer(t *testing.T, st *nodeapi.RepmgrdState) string {
	t.Helper()
	b, err := json.Marshal(nodeapi.StatusReport{Report: nodeapi.Report{Role: nodeapi.RoleStandby},
		Replication: []nodeapi.Replication{{Peer: "pg-0", State: "streaming"}}, Repmgrd: st})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWaitArmed: the wait ends once repmgrd has reached its upstream
// within a pass, or once the node is no standby; it times out with the
// last state and where to look, and a node that cannot be asked fails at
// once.
func TestWaitArmed(t *testing.T) {
	inv := fixture.Example(t)
	r := inv.Database.Repmgr
	opts := Options{ReadyTimeout: 300 * time.Millisecond, PollInterval: 10 * time.Millisecond}
	sequence := func(answers ...string) *remote.Fake {
		var mu sync.Mutex
		i := 0
		return remote.NewFake("pg-1").On("-status repmgr", func(string) (remote.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			a := answers[min(i, len(answers)-1)]
			i++
			return remote.Result{Stdout: []byte(a)}, nil
		})
	}
	notYet := standbyAnswer(t, &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: -1})
	stale := standbyAnswer(t, &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: 40})
	if err := waitArmed(context.Background(), sequence(`{"role":"down"`, standbyAnswer(t, nil), notYet, stale, armedStandby(t)), r, opts); err != nil {
		t.Errorf("armed after four answers: %v", err)
	}
	if err := waitArmed(context.Background(), sequence(notYet, `{"role":"primary"}`), r, opts); err != nil {
		t.Errorf("promoted meanwhile: %v", err)
	}
	err := waitArmed(context.Background(), sequence(notYet), r, opts)
	if err == nil || !strings.Contains(err.Error(), "within 300ms (last: repmgrd has not reached its upstream since the database started") ||
		!strings.Contains(err.Error(), "logs of the node's database container") {
		t.Errorf("never armed: %v", err)
	}
	err = waitArmed(context.Background(), sequence(standbyAnswer(t, nil)), r, opts)
	if err == nil || !strings.Contains(err.Error(), "last: repmgr's metadata cannot be read") {
		t.Errorf("metadata unreadable: %v", err)
	}
	down := remote.NewFake("pg-1").On("", func(string) (remote.Result, error) {
		return remote.Result{}, &remote.ExitError{Code: 255, Stderr: "gone"}
	})
	if err := waitArmed(context.Background(), down, r, opts); err == nil || !strings.Contains(err.Error(), "wait for repmgrd") {
		t.Errorf("host fails: %v", err)
	}
}

// TestWaitStreamingWaitsForTheImagesSetup: a standby that streams while the
// image's setup still runs (it restarts PostgreSQL on its own, several
// times) is not yet a standby to go on with.
func TestWaitStreamingWaitsForTheImagesSetup(t *testing.T) {
	h := remote.NewFake("pg-1")
	calls := 0
	h.On(nodeapi.BinaryPath+" -status repmgr || true", func(string) (remote.Result, error) {
		calls++
		settling := calls < 3
		return remote.Result{Stdout: []byte(fmt.Sprintf(`{"role":"standby","replication":[{"peer":"pg-0","state":"streaming"}],"settling":%t}`, settling))}, nil
	})
	if err := waitStreaming(context.Background(), h, Options{ReadyTimeout: 5 * time.Second, PollInterval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("went on after %d looks, want 3 (the first two while the image's setup ran)", calls)
	}
}

// TestWaitReadyTimesOutWithTheLastLook: out of time, the waits say what
// the node last answered; an ended context ends them with its error.
func TestWaitReadyTimesOutWithTheLastLook(t *testing.T) {
	h := remote.NewFake("pg-1")
	h.On(nodeapi.BinaryPath+" -status repmgr || true", func(string) (remote.Result, error) {
		return remote.Result{Stdout: []byte(`{"role":"down","reason":"connection refused","settling":true}`)}, nil
	})
	err := waitReady(context.Background(), h, Options{ReadyTimeout: 0, PollInterval: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not answer within 0s (last check: connection refused (the image's setup still runs))") {
		t.Errorf("waitReady: %v", err)
	}
	err = waitStreaming(context.Background(), h, Options{ReadyTimeout: 0, PollInterval: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "not streaming within 0s (last: down connection refused (the image's setup still runs))") {
		t.Errorf("waitStreaming: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := waitReady(ctx, h, Options{ReadyTimeout: time.Hour, PollInterval: time.Hour}); !errors.Is(err, context.Canceled) {
		t.Errorf("waitReady with its context ended: %v", err)
	}
}
