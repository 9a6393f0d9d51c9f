package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/benchout"
)

// watchRun is a `haup status --watch --ssh-stats` running in the
// background, its stdout not a terminal: frames are appended, changed
// cells marked '*'.
type watchRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

func startWatch(t testing.TB, interval string) *watchRun {
	t.Helper()
	w := &watchRun{cmd: exec.Command(build(t), "status", "--watch", "--interval", interval, "--ssh-stats", labInventory)}
	w.cmd.Dir = repoRoot
	w.cmd.Env = append(os.Environ(), "NO_COLOR=1")
	w.cmd.Stdout, w.cmd.Stderr = &w.stdout, &w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			w.cmd.Process.Kill()
			w.cmd.Wait()
		}
	})
	return w
}

// stop presses Ctrl-C (SIGINT) and returns the watch's exit code.
func (w *watchRun) stop(t testing.TB) int {
	t.Helper()
	w.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("status --watch: %v", err)
		}
	case <-time.After(30 * time.Second):
		w.cmd.Process.Kill()
		<-done
		t.Fatalf("status --watch did not end 30 s after SIGINT:\n%s", w.stderr.String())
	}
	return w.cmd.ProcessState.ExitCode()
}

// watchFrame is what the end-to-end test reads of one frame.
type watchFrame struct {
	text    string
	role    map[string]string // by node, without the change mark
	vip     map[string]bool
	verdict string
}

// parseFrames splits the watch's stdout into frames (each begins with its
// "Every ..." header) and reads each node's ROLE and VIP columns, the first
// three of the table (NODE, ROLE and VIP hold no blanks).
func parseFrames(out string) []watchFrame {
	var frames []watchFrame
	var cur *watchFrame
	inTable := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "Every "):
			frames = append(frames, watchFrame{role: map[string]string{}, vip: map[string]bool{}})
			cur, inTable = &frames[len(frames)-1], false
		case cur == nil:
			continue
		case strings.HasPrefix(l, "NODE "):
			inTable = true
		case l == "":
			inTable = false
		case inTable:
			f := strings.Fields(l)
			if len(f) >= 3 {
				cur.role[f[0]] = strings.TrimSuffix(f[1], "*")
				cur.vip[f[0]] = strings.TrimSuffix(f[2], "*") == "yes"
			}
		case strings.HasPrefix(l, "Verdict: "):
			cur.verdict, _, _ = strings.Cut(strings.TrimPrefix(l, "Verdict: "), ":")
		}
		if cur != nil {
			cur.text += l + "\n"
		}
	}
	return frames
}

// watchStats reads --ssh-stats' lines: each node's connections and sessions
// over the whole watch, and the frames' count and median cost.
func watchStats(t testing.TB, stderr string) (conns, sessions map[string]int, frames int, medianMS, maxMS float64) {
	t.Helper()
	conns, sessions = map[string]int{}, map[string]int{}
	for _, l := range strings.Split(stderr, "\n") {
		var node string
		var c, s int
		if _, err := fmt.Sscanf(l, "haup: ssh: %s %d connections, %d sessions", &node, &c, &s); err == nil {
			node = strings.TrimSuffix(node, ":")
			conns[node], sessions[node] = c, s
		}
		fmt.Sscanf(l, "haup: watch: %d frames, median %f ms, max %f ms", &frames, &medianMS, &maxMS)
	}
	if len(conns) == 0 || frames == 0 {
		t.Fatalf("no --ssh-stats figures from status --watch:\n%s", stderr)
	}
	return conns, sessions, frames, medianMS, maxMS
}

// verdictCode is haup status's exit code for a verdict.
func verdictCode(v string) int {
	return map[string]int{"healthy": 0, "degraded": 2, "critical": 3}[v]
}

// statusWatch runs `haup status --watch --interval 1s` through a kill drill
// of the primary's container: its frames show the old primary lose its
// role, the standby become primary and take the VIP, and the old primary
// rejoin as a standby; the watch opened one SSH connection per node for
// all of it and ran one probe per node per frame; Ctrl-C ends it with the
// last frame's verdict as its exit code.
func statusWatch(ctx context.Context, t *testing.T) {
	waitHealthy(t, 3*time.Minute)
	holders := vipHolders()
	if len(holders) != 1 {
		t.Fatalf("VIP holders before the watch: %v", holders)
	}
	old, next := holders[0], otherNode(t)
	w := startWatch(t, "1s")
	time.Sleep(3 * time.Second) // frames of the healthy cluster first
	drill(ctx, t, func(node string) { mustOnNode(t, node, "docker kill pg >/dev/null") },
		func(node string) { mustOnNode(t, node, "docker start pg >/dev/null") })
	waitHealthy(t, 2*time.Minute)
	time.Sleep(3 * time.Second) // and of the healthy cluster after
	code := w.stop(t)
	out, stderr := w.stdout.String(), w.stderr.String()
	frames := parseFrames(out)
	if len(frames) < 10 {
		t.Fatalf("%d frames:\n%s\n%s", len(frames), out, stderr)
	}
	dump := func() string {
		var b strings.Builder
		for _, f := range frames {
			fmt.Fprintf(&b, "%s=%s vip %v, %s=%s vip %v, %s\n", old, f.role[old], f.vip[old], next, f.role[next], f.vip[next], f.verdict)
		}
		return b.String()
	}
	first, last := frames[0], frames[len(frames)-1]
	if first.role[old] != "primary" || !first.vip[old] || first.role[next] != "standby" {
		t.Errorf("the first frame does not show %s primary with the VIP and %s standby:\n%s", old, next, first.text)
	}
	// In order: the old primary loses its role, then the standby is
	// primary with the VIP.
	lost, took := -1, -1
	for i, f := range frames {
		if lost < 0 && f.role[old] != "primary" {
			lost = i
		}
		if lost >= 0 && took < 0 && f.role[next] == "primary" && f.vip[next] && !f.vip[old] {
			took = i
		}
	}
	if lost < 0 || took < 0 {
		t.Errorf("the frames do not show %s's loss then %s primary with the VIP (lost at frame %d, took at %d):\n%s", old, next, lost, took, dump())
	} else if !strings.Contains(frames[took].text, "*") {
		t.Errorf("frame %d does not mark what changed:\n%s", took, frames[took].text)
	}
	if last.role[old] != "standby" || last.role[next] != "primary" || !last.vip[next] || last.vip[old] {
		t.Errorf("the last frame does not show %s primary with the VIP and %s standby:\n%s", next, old, last.text)
	}
	if want := verdictCode(last.verdict); code != want {
		t.Errorf("exit %d after Ctrl-C, want %d (the last frame's verdict, %s)", code, want, last.verdict)
	}
	conns, sessions, n, median, maxMS := watchStats(t, stderr)
	t.Logf("status --watch through a kill drill: %d frames, median %.1f ms, max %.1f ms; connections %v, sessions %v", n, median, maxMS, conns, sessions)
	if n != len(frames) {
		t.Errorf("--ssh-stats counts %d frames, stdout has %d", n, len(frames))
	}
	for _, node := range []string{"pg-0", "pg-1"} {
		if conns[node] != 1 {
			t.Errorf("%s: %d SSH connections for the whole watch, want 1", node, conns[node])
		}
		// One probe session per frame; Ctrl-C may cut one more short.
		if s := sessions[node]; s < n || s > n+1 {
			t.Errorf("%s: %d SSH sessions for %d frames, want one per frame", node, s, n)
		}
	}
}

// BenchmarkStatusWatch measures status_watch_frame_ms: one frame of `haup
// status --watch` (every node's probe round trip over its open connection,
// and the rendering), the median over HAUP_WATCH_SECONDS (default 30) of a
// healthy lab cluster at --interval 1s; also the slowest frame and the SSH
// connections per node (1 for the whole watch).
func BenchmarkStatusWatch(b *testing.B) {
	needRoot(b)
	secs := 30
	if v, err := strconv.Atoi(os.Getenv("HAUP_WATCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	benchCluster(b)
	for b.Loop() {
		w := startWatch(b, "1s")
		time.Sleep(time.Duration(secs) * time.Second)
		if code := w.stop(b); code != 0 {
			b.Logf("the watch ended with exit %d:\n%s", code, w.stdout.String())
		}
		conns, _, n, median, maxMS := watchStats(b, w.stderr.String())
		perNode := 0.0
		for _, c := range conns {
			perNode += float64(c)
		}
		perNode /= float64(len(conns))
		b.Logf("status --watch: %d frames in %d s, median %.1f ms, max %.1f ms, %.1f SSH connections per node", n, secs, median, maxMS, perNode)
		metrics := map[string]float64{
			"status_watch_frame_ms":             median,
			"status_watch_frame_max_ms":         maxMS,
			"status_watch_connections_per_node": perNode,
		}
		if err := benchout.Record(benchout.Path(), metrics); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseWatchFrames reads the watch's golden frames (status/testdata) as
// statusWatch reads the lab's: hermetic, so a change of the frame format
// that the lab test would misread fails here first.
func TestParseWatchFrames(t *testing.T) {
	b, err := os.ReadFile("../status/testdata/watch-frames-80.txt")
	if err != nil {
		t.Fatal(err)
	}
	frames := parseFrames(string(b))
	if len(frames) != 3 {
		t.Fatalf("%d frames, want 3", len(frames))
	}
	for i, want := range []struct {
		role0, role1 string
		vip0, vip1   bool
		verdict      string
	}{
		{"primary", "standby", true, false, "healthy"},
		{"down", "primary", true, false, "critical"},
		{"standby", "primary", false, true, "healthy"},
	} {
		f := frames[i]
		if f.role["pg-0"] != want.role0 || f.role["pg-1"] != want.role1 || f.vip["pg-0"] != want.vip0 || f.vip["pg-1"] != want.vip1 || f.verdict != want.verdict {
			t.Errorf("frame %d: roles %v, VIP %v, verdict %q", i, f.role, f.vip, f.verdict)
		}
	}
	conns, sessions, n, median, maxMS := watchStats(t, "haup: ssh: pg-0: 1 connections, 41 sessions\nhaup: ssh: pg-1: 1 connections, 40 sessions\nhaup: watch: 40 frames, median 61.5 ms, max 230.2 ms\n")
	if conns["pg-0"] != 1 || sessions["pg-1"] != 40 || n != 40 || median != 61.5 || maxMS != 230.2 {
		t.Errorf("stats: %v %v %d %v %v", conns, sessions, n, median, maxMS)
	}
}
