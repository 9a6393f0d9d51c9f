package drill

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// Tick is how often the monitor looks at the nodes' latest samples, and how
// much time one look with two VIP holders (or two writable primaries) counts.
const Tick = 100 * time.Millisecond

// fresh is how old a node's latest sample may be and still count: older, the
// node is not seen (powered off, cut from haup, its watcher restarting).
const fresh = 600 * time.Millisecond

// A sample's time is when the node took it (its clock), moved onto this
// machine's clock by the smallest difference seen between arrival and
// taking (the transit time plus the clocks' offset, as NTP estimates it).
// So a sample that arrives late is placed when it was taken: samples a
// powered-off node's kernel buffered arrive when it boots, and must not be
// taken for its present state. A sample without a time (an older
// haup-check) is placed at its arrival.
//
// Two VIP holders (or two writable primaries) count only when the samples
// prove it: each holder's latest sample saying so is no older than the
// first one in which the latest of them took the VIP. Otherwise the VIP
// moved between two samples (its old holder's latest sample predates the
// new holder's taking it), and the old holder is not counted; if it still
// holds, its next sample says so.

// Event is a change in who holds the VIP or who takes writes.
type Event struct {
	At       time.Duration `json:"-"`
	Seconds  float64       `json:"at_s"`
	Holders  []string      `json:"vip_holders"`
	Writable []string      `json:"writable"`
	Unseen   []string      `json:"unseen,omitempty"`
}

// Monitor merges the watchers' samples of every node into one picture per
// Tick: who holds the VIP, whose database takes writes.
type Monitor struct {
	nodes []string
	start time.Time

	mu     sync.Mutex
	latest map[string]sampleAt
	clocks map[string]*clock
	ticks  int
	dualV  int
	dualW  int
	events []Event
	last   string
	// first times (since start) of states the drill waits for
	cond []*waiter
}

type sampleAt struct {
	s  nodeapi.WatchSample
	at time.Time // when the node took it, on this machine's clock
	// vipSince and writableSince are when the node's current run of
	// samples holding the VIP (taking writes) began; zero outside one.
	vipSince, writableSince time.Time
}

// clock places one node's samples on this machine's clock.
type clock struct {
	offset time.Duration // smallest arrival minus taking seen so far
	known  bool
}

func (c *clock) place(taken, arrived time.Time) time.Time {
	if d := arrived.Sub(taken); !c.known || d < c.offset {
		c.offset, c.known = d, true
	}
	return taken.Add(c.offset)
}

type waiter struct {
	match func(holders, writable []string) bool
	since time.Duration
	ch    chan time.Duration
}

// NewMonitor starts an empty monitor whose clock starts now.
func NewMonitor(nodes []string) *Monitor {
	return &Monitor{nodes: nodes, start: time.Now(), latest: map[string]sampleAt{}, clocks: map[string]*clock{}}
}

// Since is the monitor's clock.
func (m *Monitor) Since() time.Duration { return time.Since(m.start) }

// Feed reads one node's watch stream (JSON samples, one per line) until it
// ends.
func (m *Monitor) Feed(node string, r io.Reader) {
	// A new stream (the node rebooted, its watcher restarted) estimates
	// the node's clock anew: it may have been stepped meanwhile.
	m.mu.Lock()
	delete(m.clocks, node)
	m.mu.Unlock()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var s nodeapi.WatchSample
		if json.Unmarshal(sc.Bytes(), &s) != nil {
			continue
		}
		m.add(node, s, time.Now())
	}
}

// add records a sample of node that arrived at arrived.
func (m *Monitor) add(node string, s nodeapi.WatchSample, arrived time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at := arrived
	if s.AtMS > 0 {
		c := m.clocks[node]
		if c == nil {
			c = &clock{}
			m.clocks[node] = c
		}
		at = c.place(time.UnixMilli(s.AtMS), arrived)
	}
	prev, had := m.latest[node]
	if had && at.Before(prev.at) {
		return // taken before the latest one: out of date
	}
	// A run goes on from the previous sample unless the node went unseen.
	cont := had && at.Sub(prev.at) <= fresh
	n := sampleAt{s: s, at: at}
	if s.VIP {
		n.vipSince = at
		if cont && prev.s.VIP {
			n.vipSince = prev.vipSince
		}
	}
	if s.DB == nodeapi.DBWritable {
		n.writableSince = at
		if cont && prev.s.DB == nodeapi.DBWritable {
			n.writableSince = prev.writableSince
		}
	}
	m.latest[node] = n
}

// Run looks at the samples every Tick until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.look()
		}
	}
}

// Seen reports whether every node has a fresh sample.
func (m *Monitor) Seen() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.nodes {
		if s, ok := m.latest[n]; !ok || time.Since(s.at) > fresh {
			return false
		}
	}
	return true
}

func (m *Monitor) look() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	var holders, writable, unseen []string
	for _, n := range m.nodes {
		s, ok := m.latest[n]
		if !ok || now.Sub(s.at) > fresh {
			unseen = append(unseen, n)
			continue
		}
		if s.s.VIP {
			holders = append(holders, n)
		}
		if s.s.DB == nodeapi.DBWritable {
			writable = append(writable, n)
		}
	}
	holders = m.proven(holders, func(s sampleAt) time.Time { return s.vipSince })
	writable = m.proven(writable, func(s sampleAt) time.Time { return s.writableSince })
	m.ticks++
	if len(holders) > 1 {
		m.dualV++
	}
	if len(writable) > 1 {
		m.dualW++
	}
	at := now.Sub(m.start)
	key := strings.Join(holders, ",") + "|" + strings.Join(writable, ",") + "|" + strings.Join(unseen, ",")
	if key != m.last {
		m.last = key
		m.events = append(m.events, Event{At: at, Seconds: at.Seconds(), Holders: holders, Writable: writable, Unseen: unseen})
	}
	keep := m.cond[:0]
	for _, w := range m.cond {
		if at >= w.since && w.match(holders, writable) {
			w.ch <- at
			continue
		}
		keep = append(keep, w)
	}
	m.cond = keep
}

// proven drops from nodes (two or more holders of the VIP, or writable
// primaries) those whose latest sample was taken before the latest of them
// began its run (since): the state moved between their samples.
func (m *Monitor) proven(nodes []string, since func(sampleAt) time.Time) []string {
	if len(nodes) < 2 {
		return nodes
	}
	var newest time.Time
	for _, n := range nodes {
		if s := since(m.latest[n]); s.After(newest) {
			newest = s
		}
	}
	keep := nodes[:0:0]
	for _, n := range nodes {
		if !m.latest[n].at.Before(newest) {
			keep = append(keep, n)
		}
	}
	return keep
}

// When returns a channel that receives the monitor's time of the first look
// at or after since whose holders and writable nodes match.
func (m *Monitor) When(since time.Duration, match func(holders, writable []string) bool) <-chan time.Duration {
	ch := make(chan time.Duration, 1)
	m.mu.Lock()
	m.cond = append(m.cond, &waiter{match: match, since: since, ch: ch})
	m.mu.Unlock()
	return ch
}

// Totals returns the time with two or more VIP holders and with two or more
// writable primaries, and the looks taken.
func (m *Monitor) Totals() (dualVIP, dualWritable time.Duration, looks int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return time.Duration(m.dualV) * Tick, time.Duration(m.dualW) * Tick, m.ticks
}

// Events returns the changes seen, in order, with times relative to zero.
func (m *Monitor) Events(zero time.Duration) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Event, 0, len(m.events))
	for _, e := range m.events {
		e.At -= zero
		e.Seconds = round2(e.At.Seconds())
		out = append(out, e)
	}
	return out
}

// soleWritableHolder matches the state clients want: one VIP holder, and it
// takes writes. With not empty, the holder must not be that node.
func soleWritableHolder(not string) func(holders, writable []string) bool {
	return func(holders, writable []string) bool {
		return len(holders) == 1 && holders[0] != not && slices.Contains(writable, holders[0])
	}
}

// steppedDown matches node holding no VIP and taking no writes (or not seen).
func steppedDown(node string) func(holders, writable []string) bool {
	return func(holders, writable []string) bool {
		return !slices.Contains(holders, node) && !slices.Contains(writable, node)
	}
}

// writableOther matches a node other than not taking writes.
func writableOther(not string) func(holders, writable []string) bool {
	return func(_, writable []string) bool {
		for _, w := range writable {
			if w != not {
				return true
			}
		}
		return false
	}
}

func round2(x float64) float64 {
	if x < 0 {
		return -float64(int64(-x*100+0.5)) / 100
	}
	return float64(int64(x*100+0.5)) / 100
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
