// Package progress reports haup's long waits (a clone, an image pull, a
// rolling change, a switchover's catch-up) as `node: ...` lines on stderr. On
// a terminal an update rewrites one line in place; elsewhere (CI, logs) every
// update is a line of its own. Updates come at most every Every; the lines
// that are not updates (a step begins, a wait ends) are always printed, and
// on a terminal they clear the updating line first, so the two never mix.
package progress

import (
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

// DefaultEvery is how often a long wait is sampled and reported: often
// enough that a person sees it move, seldom enough for a log.
const DefaultEvery = 2 * time.Second

// Options tune a Writer.
type Options struct {
	// Terminal: the output is a terminal, and an update rewrites one line.
	Terminal bool
	// Every is the least time between two updates of one wait, and how often
	// the waits are sampled; 0 is DefaultEvery.
	Every time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Writer prints progress to one output. It is safe for concurrent use: nodes
// report in parallel.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	every time.Duration
	now   func() time.Time
	// live: an update is shown and not yet ended by a newline (terminal).
	live bool
}

// New returns a Writer printing to w.
func New(w io.Writer, o Options) *Writer {
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Writer{w: w, tty: o.Terminal, every: o.Every, now: o.Now}
}

// From returns w itself when it is a *Writer (a command made it, knowing
// whether its output is a terminal), else a Writer printing to w one line per
// update. A nil w discards.
func From(w io.Writer) *Writer {
	if p, ok := w.(*Writer); ok {
		return p
	}
	if w == nil {
		w = io.Discard
	}
	return New(w, Options{})
}

// Every is how often waits are sampled.
func (p *Writer) Every() time.Duration { return p.every }

// Write prints b as it is (whole lines, such as `node: ...`), after clearing
// an update shown on a terminal.
func (p *Writer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	return p.w.Write(b)
}

// Printf prints the line `node: ...`.
func (p *Writer) Printf(node, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	fmt.Fprintf(p.w, "%s: %s\n", node, fmt.Sprintf(format, args...))
}

// clearLocked removes the update shown on a terminal.
func (p *Writer) clearLocked() {
	if p.live {
		io.WriteString(p.w, "\r\x1b[K")
		p.live = false
	}
}

// update shows line as an update: rewritten in place on a terminal, a line of
// its own elsewhere.
func (p *Writer) update(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		io.WriteString(p.w, "\r\x1b[K"+line)
		p.live = true
		return
	}
	io.WriteString(p.w, line+"\n")
}

// Start begins reporting one wait of node; what names it ("cloning from
// pg-1").
func (p *Writer) Start(node, what string) *Task {
	return &Task{p: p, node: node, what: what, start: p.now()}
}

// Task is one wait being reported. Its methods are safe for concurrent use.
type Task struct {
	p          *Writer
	node, what string
	start      time.Time

	mu      sync.Mutex
	printed time.Time // the last update shown; zero: none yet
	shown   string    // its text
	ended   bool

	// The figures: done of total (total < 0: unknown) in unit ("" for
	// bytes, else a noun such as "layers"), or a text without figures.
	kind    int // 0 none yet, 1 figures, 2 text
	done    int64
	total   int64
	unit    string
	text    string
	sampled time.Time
	rate    float64 // per second, smoothed; < 0 unknown
}

// Bytes records that done bytes of total (< 0: unknown) are through, and
// shows it when an update is due. The rate comes from successive samples.
func (t *Task) Bytes(done, total int64) { t.figures(done, total, "") }

// Count records that done of total (< 0: unknown) items, named by noun
// ("layers"), are through.
func (t *Task) Count(done, total int64, noun string) { t.figures(done, total, noun) }

func (t *Task) figures(done, total int64, unit string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.p.now()
	switch {
	case t.kind != 1 || t.unit != unit || done < t.done:
		// The first sample, or a new count: no rate yet.
		t.rate = -1
	case now.After(t.sampled):
		r := float64(done-t.done) / now.Sub(t.sampled).Seconds()
		if t.rate < 0 {
			t.rate = r
		} else {
			// Smoothed, so one slow sample does not swing the ETA.
			t.rate = (t.rate + r) / 2
		}
	}
	t.kind, t.done, t.total, t.unit, t.sampled = 1, done, total, unit, now
	t.maybeShow(now)
}

// Status records a state without figures ("waiting for checkpoint to
// finish") and shows it when an update is due.
func (t *Task) Status(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	text := fmt.Sprintf(format, args...)
	now := t.p.now()
	if t.kind != 2 || t.text != text {
		t.rate = -1
	}
	t.kind, t.text = 2, text
	t.maybeShow(now)
}

func (t *Task) maybeShow(now time.Time) {
	if t.ended {
		return
	}
	line := t.line()
	if line == t.shown {
		return
	}
	// A wait shorter than every shows no update; a longer one an update
	// at most every every. A quarter of it is slack: samples taken every
	// every over SSH come a little early or late.
	gap := t.p.every - t.p.every/4
	if now.Sub(t.start) < gap || !t.printed.IsZero() && now.Sub(t.printed) < gap {
		return
	}
	t.printed, t.shown = now, line
	t.p.update(line)
}

// line is the update as shown: `node: what: X of Y (P%), R/s, ETA D`,
// `node: what: N of M items`, or
// `node: what: text (time so far)`.
func (t *Task) line() string {
	s := t.node + ": " + t.what
	switch t.kind {
	case 1:
		if t.unit != "" {
			// Items (layers) come unevenly: no rate, no ETA.
			s += fmt.Sprintf(": %d", t.done)
			if t.total >= 0 {
				s += fmt.Sprintf(" of %d", t.total)
			}
			return s + " " + t.unit
		}
		s += ": " + Bytes(t.done)
		if t.total >= 0 {
			s += " of " + Bytes(t.total)
			if t.total > 0 {
				s += fmt.Sprintf(" (%d%%)", min(100, t.done*100/t.total))
			}
		}
		if t.rate >= 0 {
			s += ", " + Bytes(int64(math.Round(t.rate))) + "/s"
			if t.total > t.done && t.rate > 0 {
				s += ", ETA " + Duration(time.Duration(float64(t.total-t.done)/t.rate*float64(time.Second)))
			}
		}
	case 2:
		s += ": " + t.text
		if took := t.p.now().Sub(t.start); took >= time.Second {
			s += " (" + Duration(took) + ")"
		}
	}
	return s
}

// Done ends the wait with a line of its own: `node: what: text`, or, with
// text empty, what went through (bytes, time taken and mean rate). It is
// printed once; later calls and updates print nothing.
func (t *Task) Done(text string) {
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return
	}
	t.ended = true
	if text == "" {
		took := t.p.now().Sub(t.start)
		switch {
		case t.kind == 1 && t.unit == "" && took > 0:
			text = fmt.Sprintf("done, %s in %s (%s/s)", Bytes(t.done), Duration(took), Bytes(int64(float64(t.done)/took.Seconds())))
		case t.kind == 1:
			text = fmt.Sprintf("done, %d %s in %s", t.done, t.unit, Duration(took))
		default:
			text = "done in " + Duration(took)
		}
	}
	node, what := t.node, t.what
	t.mu.Unlock()
	t.p.Printf(node, "%s: %s", what, text)
}

// Stop ends the wait without a line: the caller says what came of it. On a
// terminal the update shown is cleared.
func (t *Task) Stop() {
	t.mu.Lock()
	wasShown := !t.ended && t.shown != ""
	t.ended = true
	t.mu.Unlock()
	if wasShown {
		t.p.mu.Lock()
		t.p.clearLocked()
		t.p.mu.Unlock()
	}
}

// Bytes formats n in binary units with one decimal: 512 B, 1.5 KiB, 312.4 MiB.
func Bytes(n int64) string {
	if n < 1024 && n > -1024 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= 1024
		if math.Abs(f) < 1024 || u == "TiB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	panic("unreachable")
}

// Duration formats d for a person, to the second: 45s, 2m05s, 1h02m.
func Duration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	}
}
