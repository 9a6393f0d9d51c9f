package drill

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// feed sets a node's latest sample as if it had just arrived.
func feed(m *Monitor, node string, vip bool, db string) {
	m.Feed(node, strings.NewReader(`{"seq":1,"vip":`+map[bool]string{true: "true", false: "false"}[vip]+`,"db":"`+db+`"}`+"\n"))
}

func TestMonitorCountsTwoHoldersAndTwoWriters(t *testing.T) {
	m := NewMonitor([]string{"pg-0", "pg-1"})
	feed(m, "pg-0", true, nodeapi.DBWritable)
	feed(m, "pg-1", false, nodeapi.DBStandby)
	m.look()
	feed(m, "pg-1", true, nodeapi.DBWritable)
	feed(m, "pg-0", true, nodeapi.DBWritable)
	m.look()
	feed(m, "pg-1", true, nodeapi.DBWritable)
	feed(m, "pg-0", true, nodeapi.DBWritable)
	m.look()
	feed(m, "pg-0", false, nodeapi.DBReadOnly)
	m.look()
	dv, dw, looks := m.Totals()
	if looks != 4 || dv != 2*Tick || dw != 2*Tick {
		t.Fatalf("looks %d, two holders %s, two writers %s; want 4, 200ms, 200ms", looks, dv, dw)
	}
	ev := m.Events(0)
	if len(ev) != 3 {
		t.Fatalf("events: %+v", ev)
	}
	if got := strings.Join(ev[1].Holders, ","); got != "pg-0,pg-1" {
		t.Errorf("second event holders %q", got)
	}
	if got := strings.Join(ev[2].Writable, ","); got != "pg-1" {
		t.Errorf("third event writable %q", got)
	}
}

// A node whose samples stop (powered off, cut from haup) is unseen: neither
// a holder nor a writer, whatever it said last.
func TestMonitorStaleSamplesAreUnseen(t *testing.T) {
	m := NewMonitor([]string{"pg-0", "pg-1"})
	feed(m, "pg-0", true, nodeapi.DBWritable)
	feed(m, "pg-1", true, nodeapi.DBWritable)
	m.mu.Lock()
	s := m.latest["pg-0"]
	s.at = s.at.Add(-2 * fresh)
	m.latest["pg-0"] = s
	m.mu.Unlock()
	m.look()
	dv, dw, _ := m.Totals()
	if dv != 0 || dw != 0 {
		t.Fatalf("a stale node counted: two holders %s, two writers %s", dv, dw)
	}
	if ev := m.Events(0); len(ev) != 1 || strings.Join(ev[0].Unseen, ",") != "pg-0" {
		t.Fatalf("events: %+v", ev)
	}
	if m.Seen() {
		t.Error("Seen() with a stale node")
	}
}

func TestMonitorWaitsForTheState(t *testing.T) {
	m := NewMonitor([]string{"pg-0", "pg-1"})
	vip := m.When(0, soleWritableHolder("pg-0"))
	prom := m.When(0, writableOther("pg-0"))
	feed(m, "pg-0", true, nodeapi.DBWritable)
	feed(m, "pg-1", false, nodeapi.DBStandby)
	m.look()
	select {
	case <-vip:
		t.Fatal("the old primary holding the VIP matched")
	case <-prom:
		t.Fatal("the old primary taking writes matched")
	default:
	}
	feed(m, "pg-0", false, nodeapi.DBUnknown)
	feed(m, "pg-1", false, nodeapi.DBWritable)
	m.look()
	select {
	case <-prom:
	case <-time.After(time.Second):
		t.Fatal("promotion not seen")
	}
	select {
	case <-vip:
		t.Fatal("matched with no VIP holder")
	default:
	}
	feed(m, "pg-1", true, nodeapi.DBWritable)
	m.look()
	select {
	case <-vip:
	case <-time.After(time.Second):
		t.Fatal("VIP on the new primary not seen")
	}
}

func TestMalformedSamplesAreSkipped(t *testing.T) {
	m := NewMonitor([]string{"pg-0"})
	m.Feed("pg-0", strings.NewReader("haup-check: watch: config: no such file\n{\"seq\":1,\"vip\":true,\"db\":\"writable\"}\n{broken\n"))
	m.look()
	ev := m.Events(0)
	if len(ev) != 1 || strings.Join(ev[0].Holders, ",") != "pg-0" {
		t.Fatalf("events: %+v", ev)
	}
}

func TestJudge(t *testing.T) {
	p := &Plan{Mode: "asynchronous"}
	r := &Result{WriteS: 3, Verdict: "healthy", Lost: 2}
	judgeResult(r, p)
	if !r.Held {
		t.Errorf("asynchronous loss broke the guarantees: %v", r.Broken)
	}
	p.Mode = "synchronous (zero-loss)"
	r = &Result{WriteS: 3, Verdict: "healthy", Lost: 2, DualVIPS: 0.1}
	judgeResult(r, p)
	if r.Held || len(r.Broken) != 2 {
		t.Errorf("broken = %v", r.Broken)
	}
	r = &Result{WriteS: -1, Verdict: "degraded"}
	judgeResult(r, p)
	if r.Held || len(r.Broken) != 2 {
		t.Errorf("broken = %v", r.Broken)
	}
}

func TestLongestGap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := &Writer{}
	for _, ms := range []int{-500, 100, 200, 1700, 1800} {
		w.ackedAt = append(w.ackedAt, t0.Add(time.Duration(ms)*time.Millisecond))
	}
	if g := w.LongestGap(t0, t0.Add(2*time.Second)); g != 1500*time.Millisecond {
		t.Errorf("gap %s, want 1.5s", g)
	}
	if g := w.LongestGap(t0, t0.Add(5*time.Second)); g != 3200*time.Millisecond {
		t.Errorf("gap to the end %s, want 3.2s", g)
	}
}

// Every fault's description renders without a formatting error.
func TestFaultTexts(t *testing.T) {
	for _, f := range Faults {
		for _, tmpl := range []string{f.Does, f.Undoes} {
			if got := fmt.Sprintf(tmpl, "pg-0", "pg"); strings.Contains(got, "%!") || !strings.Contains(got, "pg") {
				t.Errorf("fault %s: %q", f.Name, got)
			}
		}
	}
}

// TestWritesBack: writes come back with the acknowledgement that ends the
// first gap of more than OutageGap after t, though the outage began a moment
// after t and one write spanned it; with no such gap, the first after t;
// while writes are out, not yet.
func TestWritesBack(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	w := &Writer{}
	for _, ms := range []int{-50, 10, 60, 2200, 2250, 2300, 9000} {
		w.ackedAt = append(w.ackedAt, at(ms))
	}
	if got, ok := w.WritesBack(t0, at(9100)); !ok || !got.Equal(at(2200)) {
		t.Errorf("after the outage: %v %v, want +2200ms (the later gap is not the outage)", got.Sub(t0), ok)
	}
	w.ackedAt = w.ackedAt[:3]
	if _, ok := w.WritesBack(t0, at(1000)); ok {
		t.Error("writes back during the outage")
	}
	if got, ok := w.WritesBack(t0, at(100)); !ok || !got.Equal(at(10)) {
		t.Errorf("no outage yet: %v %v, want +10ms", got.Sub(t0), ok)
	}
	if _, ok := (&Writer{}).WritesBack(t0, at(100)); ok {
		t.Error("writes back with no acknowledgement at all")
	}
}

// A node whose clock was stepped back between two streams (it rebooted
// before NTP set it) is seen on its new stream: each stream estimates the
// node's clock anew.
func TestMonitorNewStreamAfterClockStep(t *testing.T) {
	m := NewMonitor([]string{"pg-0"})
	line := func(taken time.Time) string {
		return fmt.Sprintf(`{"seq":1,"vip":false,"db":"standby","at_ms":%d}`+"\n", taken.UnixMilli())
	}
	// Its last sample on the old stream, 2 s ago: it is unseen now.
	before := time.Now().Add(-2 * time.Second)
	m.Feed("pg-0", strings.NewReader(line(before.Add(-time.Millisecond))))
	m.mu.Lock()
	m.latest["pg-0"] = sampleAt{s: m.latest["pg-0"].s, at: before}
	m.mu.Unlock()
	if m.Seen() {
		t.Fatal("seen on a sample 2 s old")
	}
	m.Feed("pg-0", strings.NewReader(line(time.Now().Add(-30*time.Second))))
	if !m.Seen() {
		t.Fatal("a node whose clock went back 30 s is unseen on its new stream")
	}
}
