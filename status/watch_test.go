package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
)

// drillFrames are three statuses of a kill drill on the example cluster:
// healthy on pg-0; pg-0's database killed and pg-1 promoted, the VIP not
// yet moved; healthy on pg-1 with pg-0 rejoined behind it.
func drillFrames(t testing.TB) []*ClusterStatus {
	primary := func(name, addr string, tl int) NodeStatus {
		return NodeStatus{Node: name, Address: addr, dbAddress: addr, Reachable: true, Keepalived: "MASTER", KeepalivedVersion: "2.2.8",
			HoldsVIP: true, Role: nodeapi.RolePrimary, Timeline: tl, Container: "running", Image: "wjy2020/timescaledb-repmgr:pg14.15-ts2.17.2",
			PostgreSQL: "14.15", TimescaleDB: "2.17.2", LastCheck: &nodeapi.Report{Pass: true, Reason: fmt.Sprintf("primary on timeline %d", tl)}}
	}
	standby := func(name, addr, from string, tl int) NodeStatus {
		return NodeStatus{Node: name, Address: addr, dbAddress: addr, Reachable: true, Keepalived: "FAULT", KeepalivedVersion: "2.2.8",
			Role: nodeapi.RoleStandby, Timeline: tl, Container: "running", Image: "wjy2020/timescaledb-repmgr:pg14.15-ts2.17.2",
			PostgreSQL: "14.15", TimescaleDB: "2.17.2", Replication: []nodeapi.Replication{{Peer: from, State: "streaming", LagSeconds: 40}},
			LastCheck: &nodeapi.Report{Pass: false, Reason: "local database is a standby (in recovery)"}, Promotion: gateAllows}
	}
	p0, s1 := primary("pg-0", "192.168.89.131", 2), standby("pg-1", "192.168.89.133", "192.168.89.131", 2)
	p0.Replication = []nodeapi.Replication{{Peer: "192.168.89.133", State: "streaming"}}
	killed := p0
	killed.Role, killed.Timeline, killed.Container, killed.Replication = nodeapi.RoleDown, 0, "exited", nil
	killed.Keepalived, killed.LastCheck = "FAULT", &nodeapi.Report{Reason: "local database: connection refused"}
	killed.StatusError = "local database: connection refused"
	promoted := primary("pg-1", "192.168.89.133", 3)
	promoted.HoldsVIP, promoted.Keepalived = false, "BACKUP"
	rejoined := standby("pg-0", "192.168.89.131", "192.168.89.133", 3)
	rejoined.Replication[0].LagBytes = 24 << 10
	rejoined.Replication[0].LagSeconds = 3
	final := primary("pg-1", "192.168.89.133", 3)
	final.Replication = []nodeapi.Replication{{Peer: "192.168.89.131", State: "streaming", LagBytes: 24 << 10}}
	var out []*ClusterStatus
	for _, nodes := range [][]NodeStatus{{p0, s1}, {killed, promoted}, {rejoined, final}} {
		cs := &ClusterStatus{VIP: "192.168.89.134/24", Nodes: nodes}
		judge(cs, Options{MaxLag: 30 * time.Second})
		out = append(out, cs)
	}
	return out
}

// TestWatchFramesGolden: the frames of a kill drill, appended with '*'
// marks (not a terminal, 80 columns), redrawn in place with reverse video
// (a terminal of 120 columns; ESC shown as \e), and wide.
func TestWatchFramesGolden(t *testing.T) {
	frames := drillFrames(t)
	for _, tc := range []struct {
		golden string
		o      FrameOptions
	}{
		{"watch-frames-80.txt", FrameOptions{Width: 80}},
		{"watch-frames-terminal-120.txt", FrameOptions{Width: 120, Terminal: true}},
		{"watch-frames-wide.txt", FrameOptions{Wide: true}},
	} {
		var b bytes.Buffer
		var prev *ClusterStatus
		for i, cs := range frames {
			tc.o.Header = fmt.Sprintf("Every 1s: haup status inventory.yaml  2026-12-04 22:00:0%dZ", i)
			b.Write(RenderWatchFrame(prev, cs, tc.o))
			prev = cs
		}
		golden(t, tc.golden, bytes.ReplaceAll(b.Bytes(), []byte("\x1b"), []byte(`\e`)))
	}
	// Pure: the same inputs, the same bytes.
	a := RenderWatchFrame(frames[0], frames[1], FrameOptions{Width: 80})
	if b := RenderWatchFrame(frames[0], frames[1], FrameOptions{Width: 80}); !bytes.Equal(a, b) {
		t.Error("two renderings of one frame differ")
	}
	// Every row of the table fits the width, marks included.
	for _, cs := range frames {
		for _, l := range strings.Split(string(RenderWatchFrame(frames[0], cs, FrameOptions{Width: 80})), "\n") {
			if strings.HasPrefix(l, "pg-") && !strings.Contains(l, ": ") && len(l) > 80 {
				t.Errorf("a row of %d columns: %q", len(l), l)
			}
		}
	}
}

// BenchmarkRenderWatchFrame is the render part of a watch frame (the probe
// round trip is measured on the lab: e2e's status_watch_frame_ms).
func BenchmarkRenderWatchFrame(b *testing.B) {
	frames := drillFrames(b)
	for b.Loop() {
		RenderWatchFrame(frames[0], frames[1], FrameOptions{Width: 120, Terminal: true, Header: "Every 1s: haup status inventory.yaml"})
	}
}

// flakyHost is a fake node whose connection can be cut: a cut one fails
// every script and its keepalive.
type flakyHost struct {
	*remote.Fake
	cut *atomic.Bool
}

func (h flakyHost) Alive(context.Context) error {
	if h.cut.Load() {
		return errors.New("connection lost")
	}
	return nil
}

// TestWatchOneConnectionPerNode: a watch dials each node once however many
// rounds it draws; a node whose connection is lost is shown unreachable,
// dialled again with backoff (refused dials back off), and read again over
// its new connection; the end returns the last status and each node's
// dials.
func TestWatchOneConnectionPerNode(t *testing.T) {
	inv := fixture.Example(t)
	answers := map[string]string{}
	for i, n := range inv.Nodes {
		role := nodeapi.RoleStandby
		if i == 0 {
			role = nodeapi.RolePrimary
		}
		f := runningFacts(role)
		f.Iface.HoldsVIP = i == 0
		f.Keepalived.State = map[bool]string{true: "MASTER", false: "FAULT"}[i == 0]
		f.LastCheck = &nodeapi.Report{Pass: i == 0, Reason: "as the role says"}
		b, _ := json.Marshal(f)
		answers[n.Name] = "haup-uname x86_64\n" + string(b) + "\n"
	}
	var mu sync.Mutex
	dials := map[string]int{}
	cut := map[string]*atomic.Bool{"pg-0": {}, "pg-1": {}}
	var refuse atomic.Int32 // dials of pg-1 to refuse
	w := &Watch{Inv: inv, Interval: 5 * time.Millisecond, Timeout: time.Second,
		MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		Dial: func(ctx context.Context, n inventory.Node) (remote.Host, error) {
			mu.Lock()
			defer mu.Unlock()
			if n.Name == "pg-1" && refuse.Load() > 0 {
				refuse.Add(-1)
				return nil, errors.New("dial tcp: connection refused")
			}
			dials[n.Name]++
			c := cut[n.Name]
			c.Store(false)
			return flakyHost{remote.NewFake(n.Name).On("facts", func(string) (remote.Result, error) {
				if c.Load() {
					return remote.Result{}, errors.New("ssh session: EOF")
				}
				return remote.Result{Stdout: []byte(answers[n.Name])}, nil
			}), c}, nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var frames []*ClusterStatus
	w.Frame = func(cs *ClusterStatus, _ time.Duration) {
		frames = append(frames, cs)
		switch len(frames) {
		case 3:
			// pg-1's connection drops; its next two dials are refused.
			refuse.Store(2)
			cut["pg-1"].Store(true)
		case 40:
			cancel()
		}
	}
	last, stats := w.Run(ctx)
	if last == nil || last != frames[len(frames)-1] {
		t.Fatalf("last status %p, want the last frame's", last)
	}
	var sawUnreachable, sawBack bool
	for _, f := range frames[3:] {
		if !f.Nodes[1].Reachable {
			sawUnreachable = true
		} else if sawUnreachable {
			sawBack = true
		}
	}
	if !sawUnreachable || !sawBack {
		t.Errorf("pg-1 unreachable %v, then back %v", sawUnreachable, sawBack)
	}
	if last.Verdict != VerdictHealthy {
		t.Errorf("last verdict %s: %v", last.Verdict, last.Reasons)
	}
	if dials["pg-0"] != 1 || dials["pg-1"] != 2 {
		t.Errorf("dials %v, want pg-0 once and pg-1 twice (its first connection and one after the loss)", dials)
	}
	if stats["pg-0"].Dials != 1 || stats["pg-1"].Dials != 2 {
		t.Errorf("stats %+v", stats)
	}
	if refuse.Load() != 0 {
		t.Errorf("%d refused dials never tried", refuse.Load())
	}
	for _, f := range frames[3:] {
		if e := f.Nodes[1].Error; !f.Nodes[1].Reachable && !strings.Contains(e, "connection lost") && !strings.Contains(e, "reconnecting") && !strings.Contains(e, "not connected") && !strings.Contains(e, "EOF") {
			t.Errorf("pg-1 unreachable for an unsaid reason: %q", e)
		}
	}
}
