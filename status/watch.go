package status

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/remote"
)

// FrameOptions lays out one frame of `haup status --watch`.
type FrameOptions struct {
	// Width is the number of columns the table may fill (see TableOptions).
	Width int
	// Wide shows every column (-o wide).
	Wide bool
	// Terminal: the frame redraws the screen in place and highlights the
	// cells that changed in reverse video; otherwise frames are appended
	// one after the other and a changed cell ends with "*".
	Terminal bool
	// Header is the frame's first line (the command, the interval and when
	// the status was read).
	Header string
}

// RenderWatchFrame draws cur as one frame of the watch, marking what
// changed since prev (nil for the first frame: nothing is marked). It reads
// nothing but its arguments: the same inputs give the same bytes.
func RenderWatchFrame(prev, cur *ClusterStatus, o FrameOptions) []byte {
	var b bytes.Buffer
	style, eol := styleMark, "\n"
	if o.Terminal {
		// Home, then each line clears what the previous frame left after
		// it, and the end clears the rest of the screen: no flicker.
		style, eol = styleANSI, "\x1b[K\n"
		if prev == nil {
			b.WriteString("\x1b[H\x1b[2J")
		} else {
			b.WriteString("\x1b[H")
		}
	}
	if prev == nil {
		style = styleNone
	}
	reserve := 0
	if style == styleMark {
		reserve = 1
	}
	t := buildTable(cur, TableOptions{Width: o.Width, Wide: o.Wide}, reserve)
	var changed [][]bool
	if prev != nil {
		changed = changedCells(buildTable(prev, TableOptions{Wide: true}, 0), t)
	}
	b.WriteString(o.Header + eol)
	b.WriteString(eol)
	writeTable(&b, t, changed, style, eol)
	b.WriteString(eol)
	var notes bytes.Buffer
	cur.printNotes(&notes)
	for _, l := range bytes.SplitAfter(notes.Bytes(), []byte("\n")) {
		if len(l) > 0 {
			b.Write(bytes.TrimSuffix(l, []byte("\n")))
			b.WriteString(eol)
		}
	}
	if notes.Len() > 0 {
		b.WriteString(eol)
	}
	verdict := cur.verdictLine()
	if o.Terminal && prev != nil && prev.verdictLine() != verdict {
		verdict = ansiReverse + verdict + ansiReset
	}
	b.WriteString(verdict + eol)
	if o.Terminal {
		b.WriteString("\x1b[J")
	} else {
		b.WriteString("\n")
	}
	return b.Bytes()
}

// changedCells marks the cells of cur whose text differs from the same
// node's cell in the same column of prev (prev has every column); a node
// prev did not have is marked whole.
func changedCells(prev, cur statusTable) [][]bool {
	col := map[string]int{}
	for c, h := range prev.header {
		col[h] = c
	}
	row := map[string]int{}
	for i, n := range prev.nodes {
		row[n] = i
	}
	out := make([][]bool, len(cur.rows))
	for i, r := range cur.rows {
		out[i] = make([]bool, len(r))
		pi, ok := row[cur.nodes[i]]
		for c, v := range r {
			pc, found := col[cur.header[c]]
			out[i][c] = !ok || !found || !sameCell(cur.header[c], prev.rows[pi][pc], v)
		}
	}
	return out
}

// sameCell compares two texts of column name; the check's age, which
// changes at every frame, is not a change.
func sameCell(name, a, b string) bool {
	if name == "CHECK" {
		a, _, _ = strings.Cut(a, " ")
		b, _, _ = strings.Cut(b, " ")
	}
	return a == b
}

// Watch is the loop of `haup status --watch`: one connection per node for
// the whole watch and one probe round trip per node per interval. A node
// whose connection is lost is shown unreachable and dialled again, with
// backoff, while the other nodes go on being read.
type Watch struct {
	Inv     *inventory.Inventory
	Bins    desired.CheckBinaries
	Options Options
	// Interval is the time between the starts of two rounds (positive); a
	// round that takes longer delays the next.
	Interval time.Duration
	// Timeout bounds one round: a node that has not answered by then is
	// shown unreachable, and its connection is checked (default: the
	// interval, at least 5 s).
	Timeout time.Duration
	// Dial opens a node's connection. Watch calls it once per node, and
	// again only after that connection is lost.
	Dial func(ctx context.Context, n inventory.Node) (remote.Host, error)
	// Frame receives each round's status, with the round's duration.
	Frame func(cs *ClusterStatus, round time.Duration)
	// MinBackoff and MaxBackoff bound the wait before dialling a lost node
	// again; it doubles at each failed dial (defaults 1 s and 30 s).
	MinBackoff, MaxBackoff time.Duration
}

// WatchStats is what a watch used on one node.
type WatchStats struct {
	// Dials counts the connections opened (a lost one dialled again
	// counts again); Stats sums the SSH statistics of those connections.
	Dials int
	remote.Stats
}

// aliver is a Host that can tell whether its connection still answers.
type aliver interface {
	Alive(ctx context.Context) error
}

// watchConn is one node's connection in a watch.
type watchConn struct {
	node    inventory.Node
	host    remote.Host
	err     error
	dialing bool
	retryAt time.Time
	backoff time.Duration
	stats   WatchStats
}

type dialResult struct {
	node string
	host remote.Host
	err  error
}

// Run watches until ctx ends. It returns the last complete round's status
// (nil when none completed) and, by node, what the watch used.
func (w *Watch) Run(ctx context.Context) (last *ClusterStatus, stats map[string]WatchStats) {
	minB, maxB := w.MinBackoff, w.MaxBackoff
	if minB <= 0 {
		minB = time.Second
	}
	if maxB < minB {
		maxB = max(minB, 30*time.Second)
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = max(w.Interval, 5*time.Second)
	}
	nodes := w.Inv.Hosts()
	conns := map[string]*watchConn{}
	for _, n := range nodes {
		conns[n.Name] = &watchConn{node: n, backoff: minB}
	}
	dialCtx, cancelDials := context.WithCancel(ctx)
	results := make(chan dialResult, len(nodes))
	var dials sync.WaitGroup
	var closing sync.WaitGroup
	var statsMu sync.Mutex
	// release closes a connection in the background (closing a dead one
	// may take a while) and adds its statistics.
	release := func(c *watchConn) {
		h := c.host
		c.host = nil
		closing.Go(func() {
			var st remote.Stats
			if s, ok := h.(interface{ Stats() remote.Stats }); ok {
				st = s.Stats()
			}
			h.Close()
			statsMu.Lock()
			c.stats.Connections += st.Connections
			c.stats.Sessions += st.Sessions
			statsMu.Unlock()
		})
	}
	accept := func(r dialResult) {
		c := conns[r.node]
		c.dialing = false
		if r.err != nil {
			c.err = fmt.Errorf("not connected (next try in %s): %w", c.backoff, r.err)
			c.retryAt = time.Now().Add(c.backoff)
			c.backoff = min(2*c.backoff, maxB)
			return
		}
		c.host, c.err, c.backoff = r.host, nil, minB
		statsMu.Lock()
		c.stats.Dials++
		statsMu.Unlock()
	}
	startDials := func() {
		now := time.Now()
		for _, n := range nodes {
			c := conns[n.Name]
			if c.host != nil || c.dialing || now.Before(c.retryAt) {
				continue
			}
			c.dialing = true
			dials.Go(func() {
				h, err := w.Dial(dialCtx, n)
				results <- dialResult{n.Name, h, err}
			})
		}
	}
	defer func() {
		cancelDials()
		dials.Wait()
		for {
			select {
			case r := <-results:
				accept(r)
				continue
			default:
			}
			break
		}
		for _, c := range conns {
			if c.host != nil {
				release(c)
			}
		}
		closing.Wait()
		stats = map[string]WatchStats{}
		for name, c := range conns {
			stats[name] = c.stats
		}
	}()

	// The first round waits for every first dial, as `haup status` does.
	startDials()
	for range nodes {
		select {
		case r := <-results:
			accept(r)
		case <-ctx.Done():
			return nil, nil
		}
	}
	ticker := time.NewTicker(w.Interval)
	defer ticker.Stop()
	for {
		startDials()
		hosts, unreachable := map[string]remote.Host{}, map[string]error{}
		for _, n := range nodes {
			c := conns[n.Name]
			switch {
			case c.host != nil:
				hosts[n.Name] = c.host
			case c.err != nil:
				unreachable[n.Name] = c.err
			default:
				unreachable[n.Name] = fmt.Errorf("reconnecting")
			}
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, timeout)
		cs := ClusterStatusOf(rctx, w.Inv, hosts, unreachable, w.Bins, w.Options)
		cancel()
		if ctx.Err() != nil {
			// Interrupted: this round's answers are the interruption's.
			break
		}
		w.checkConnections(ctx, cs, conns, release, timeout)
		last = cs
		w.Frame(cs, time.Since(start))
	wait:
		for {
			select {
			case <-ctx.Done():
				break wait
			case r := <-results:
				accept(r)
			case <-ticker.C:
				break wait
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	return last, nil
}

// checkConnections drops the connection of every node whose probe failed
// and whose connection no longer answers: the next rounds show it
// unreachable until a new dial succeeds.
func (w *Watch) checkConnections(ctx context.Context, cs *ClusterStatus, conns map[string]*watchConn, release func(*watchConn), timeout time.Duration) {
	failed := map[string]string{}
	for _, n := range cs.Nodes {
		if !n.Reachable && n.Error != "" {
			failed[n.Node] = n.Error
		}
	}
	if ws := cs.Witness; ws != nil && !ws.Reachable && ws.Error != "" {
		failed[ws.Node] = ws.Error
	}
	names := make([]string, 0, len(failed))
	for n := range failed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := conns[name]
		if c == nil || c.host == nil {
			continue
		}
		if a, ok := c.host.(aliver); ok {
			actx, cancel := context.WithTimeout(ctx, min(timeout, 2*time.Second))
			err := a.Alive(actx)
			cancel()
			if err == nil {
				continue
			}
		}
		c.err = fmt.Errorf("connection lost: %s", failed[name])
		c.retryAt = time.Now()
		release(c)
	}
}
