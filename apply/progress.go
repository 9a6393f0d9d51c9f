package apply

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/haup-project/haup/internal/progress"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// A watch runs beside a change's task while it waits for something long (a
// clone, an image pull), samples it every rep.Every() over the node's own
// connection and reports it as `node: ...` updates. It ends when ctx does;
// what it cannot read it skips: progress never fails a change.
type watch func(ctx context.Context, h remote.Host, rep *progress.Writer)

// watchOf is the watch of the task t, or nil when it has no long wait to
// report: a clone (a rejoin, or a follow that may fall back to one) or an
// image pull.
func watchOf(t tasks.Task) watch {
	switch t := t.(type) {
	case tasks.Rejoin:
		return watchClone(t.Addr)
	case tasks.Follow:
		return watchClone(t.Clone.Addr)
	case tasks.PullImage:
		return watchPull(t.Image)
	}
	return nil
}

// startWatch runs w beside the caller until the returned stop, which waits
// for it to end. A nil w does nothing.
func startWatch(ctx context.Context, w watch, h remote.Host, rep *progress.Writer) (stop func()) {
	if w == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w(ctx, h, rep)
	}()
	return func() {
		cancel()
		<-done
	}
}

// sampleEvery calls sample every d, the first time after d (a short wait is
// not reported at all), until ctx ends.
func sampleEvery(ctx context.Context, d time.Duration, sample func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sample()
		}
	}
}

// phaseStreaming is pg_stat_progress_basebackup's phase while the data
// files go out: bytes are reported then, the phase's name otherwise.
const phaseStreaming = "streaming database files"

// watchClone reports a clone of the node whose database address is addr:
// the node's agent asks the current primary for its pg_stat_progress_basebackup
// (`haup-check progress clone`), and the base backup sent to addr (or the
// only one) is reported as bytes streamed of the estimated total, with the
// rate and the time left.
func watchClone(addr string) watch {
	script := shq(nodeapi.BinaryPath) + " progress clone\n"
	return func(ctx context.Context, h remote.Host, rep *progress.Writer) {
		c := &cloneReport{rep: rep, node: h.Name(), addr: addr}
		defer c.stop()
		sampleEvery(ctx, rep.Every(), func() {
			res, err := h.Exec(ctx, script)
			var cp nodeapi.CloneProgress
			if err == nil && json.Unmarshal(res.Stdout, &cp) == nil && cp.Error == "" {
				c.sample(cp)
			}
		})
	}
}

// cloneReport turns samples of the primary's base backups into one node's
// clone progress.
type cloneReport struct {
	rep        *progress.Writer
	node, addr string
	task       *progress.Task
	pid        int
	// ended: a backup was reported to its end; from then on only one sent
	// to addr is another clone of this node.
	ended bool
}

func (c *cloneReport) sample(cp nodeapi.CloneProgress) {
	b, ok := pickBackup(cp.Backups, c.addr, c.pid, !c.ended)
	if !ok {
		if c.task != nil {
			// The backup ended: the image sets the clone up and starts
			// the database.
			c.task.Done("")
			c.task, c.pid, c.ended = nil, 0, true
		}
		return
	}
	if c.task == nil || b.PID != c.pid {
		c.stop()
		c.task, c.pid = c.rep.Start(c.node, "cloning from "+cp.Primary), b.PID
	}
	if b.Phase != phaseStreaming && b.Streamed == 0 {
		c.task.Status("%s", b.Phase)
		return
	}
	total := int64(-1)
	if b.Total != nil {
		total = *b.Total
	}
	c.task.Bytes(b.Streamed, total)
}

// stop ends the report of a backup still running (the change ended).
func (c *cloneReport) stop() {
	if c.task != nil {
		c.task.Stop()
	}
}

// pickBackup is the base backup being reported (pid, when not 0), else
// the one sent to addr, else, when sole, the only one (the primary may see
// the node through another address).
func pickBackup(bs []nodeapi.BaseBackup, addr string, pid int, sole bool) (nodeapi.BaseBackup, bool) {
	if pid != 0 {
		for _, b := range bs {
			if b.PID == pid {
				return b, true
			}
		}
		return nodeapi.BaseBackup{}, false
	}
	for _, b := range bs {
		if b.Client == addr {
			return b, true
		}
	}
	if sole && len(bs) == 1 {
		return bs[0], true
	}
	return nodeapi.BaseBackup{}, false
}

// pullLog is where an image pull's output goes on the node, for
// watchPull to read while the pull runs.
func pullLog(image string) string {
	sum := sha256.Sum256([]byte(image))
	return "/run/haup/pull-" + hex.EncodeToString(sum[:6]) + ".log"
}

// pullScript pulls image with its output in pullLog (the last lines on
// stderr when it fails), and removes the log.
func pullScript(image string) string {
	log := shq(pullLog(image))
	return "mkdir -p /run/haup\n" +
		"docker pull " + shq(image) + " >" + log + " 2>&1\n" +
		"rc=$?\n" +
		"if [ $rc -ne 0 ]; then tail -n 5 " + log + " >&2; fi\n" +
		"rm -f " + log + "\n" +
		"exit $rc\n"
}

// watchPull reports an image pull as layers done of the layers announced:
// docker pull, writing to a file, prints one line per layer and state, and
// no byte counts.
func watchPull(image string) watch {
	script := "cat " + shq(pullLog(image)) + " 2>/dev/null || true\n"
	return func(ctx context.Context, h remote.Host, rep *progress.Writer) {
		task := rep.Start(h.Name(), "pulling "+image)
		defer task.Stop()
		sampleEvery(ctx, rep.Every(), func() {
			res, err := h.Exec(ctx, script)
			if err != nil {
				return
			}
			if done, total := pullLayers(string(res.Stdout)); total > 0 {
				task.Count(int64(done), int64(total), "layers")
			}
		})
	}
}

// pullLine is a layer's state in docker pull's output without a terminal.
var pullLine = regexp.MustCompile(`^([0-9a-f]{12}): (.+)$`)

// pullLayers counts the layers docker pull announced and those it has
// finished (extracted, or already there).
func pullLayers(out string) (done, total int) {
	state := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m := pullLine.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			state[m[1]] = m[2]
		}
	}
	for _, s := range state {
		if s == "Pull complete" || s == "Already exists" {
			done++
		}
	}
	return done, len(state)
}

// watchCatchUp reports a switchover target's catch-up with the old
// primary's last WAL (at least lsn): the bytes it has left to receive and
// to replay.
func watchCatchUp(lsn, from string) watch {
	script := shq(nodeapi.BinaryPath) + " progress replay " + shq(lsn) + "\n"
	return func(ctx context.Context, h remote.Host, rep *progress.Writer) {
		task := rep.Start(h.Name(), "catching up with "+from+"'s last WAL")
		defer task.Stop()
		sampleEvery(ctx, rep.Every(), func() {
			res, err := h.Exec(ctx, script)
			var rp nodeapi.ReplayProgress
			if err != nil || json.Unmarshal(res.Stdout, &rp) != nil || rp.Error != "" || rp.ReplayLeft < 0 {
				return
			}
			task.Status("%s left to receive, %s to replay", progress.Bytes(rp.ReceiveLeft), progress.Bytes(rp.ReplayLeft))
		})
	}
}
