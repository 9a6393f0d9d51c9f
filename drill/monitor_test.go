package drill

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/healthcheck"
)

// feed sets a node's latest sample as if it had just arrived.
func feed(m *Monitor, node string, vip bool, db string) {
	m.Feed(node, strings.NewReader(`{"seq":1,"vip":`+map[bool]string{true: "true", false: "false"}[vip]+`,"db":"`+db+`"}`+"\n"))
}

func TestMonitorCountsTwoHoldersAndTwoWriters(t *testing.T) {
	m := NewMonitor([]string{"pg-0", "pg-1"})
	feed(m, "pg-0", true, healthcheck.DBWritable)
	feed(m, "pg-1", false, healthcheck.DBStandby)
	m.look()
	feed(m, "pg-1", true, healthcheck.DBWritable)
	feed(m, "pg-0", true, healthcheck.DBWritable)
	m.look()
	feed(m, "pg-1", true, healthcheck.DBWritable)
	feed(m, "pg-0", true, healthcheck.DBWritable)
	m.look()
	feed(m, "pg-0", false, healthcheck.DBReadOnly)
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
	feed(m, "pg-0", true, healthcheck.DBWritable)
	feed(m, "pg-1", true, healthcheck.DBWritable)
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
	feed(m, "pg-0", true, healthcheck.DBWritable)
	feed(m, "pg-1", false, healthcheck.DBStandby)
	m.look()
	select {
	case <-vip:
		t.Fatal("the old primary holding the VIP matched")
	case <-prom:
		t.Fatal("the old primary taking writes matched")
	default:
	}
	feed(m, "pg-0", false, healthcheck.DBUnknown)
	feed(m, "pg-1", false, healthcheck.DBWritable)
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
	feed(m, "pg-1", true, healthcheck.DBWritable)
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

// TestFirstAckAfterOutage: the first write after an outage that began a
// moment after t (attempts started after t still acknowledged first); with
// no failed attempt, the first acknowledgement after t, and never the
// attempt cut short when the writer stopped.
func TestFirstAckAfterOutage(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	w := &Writer{startOf: map[int64]time.Time{1: at(-50), 2: at(10), 3: at(60), 4: at(1100), 5: at(2200), 6: at(2300)}}
	w.acked, w.ackedAt = []int64{1, 2, 5}, []time.Time{at(-48), at(12), at(2202)}
	w.failed = []int64{3, 4}
	if got, ok := w.FirstAckAfterOutage(t0); !ok || !got.Equal(at(2202)) {
		t.Errorf("after the outage: %v %v, want +2202ms", got.Sub(t0), ok)
	}
	w.failed = nil // 6 was in flight when the writer stopped: not a failure
	if got, ok := w.FirstAckAfterOutage(t0); !ok || !got.Equal(at(12)) {
		t.Errorf("no outage: %v %v, want +12ms", got.Sub(t0), ok)
	}
}

// sample is one node's sample taken at taken, arriving at arrived.
func sample(m *Monitor, node string, vip bool, db string, taken, arrived time.Time) {
	m.add(node, healthcheck.WatchSample{Seq: 1, VIP: vip, DB: db, AtMS: taken.UnixMilli()}, arrived)
}

// The VIP moving between two samples is no moment with two holders: the old
// holder's last sample holding it predates the new holder's first.
func TestMonitorHandoverBetweenSamplesIsNotTwoHolders(t *testing.T) {
	m := NewMonitor([]string{"pg-0", "pg-1"})
	// Samples from the last 350 ms: all fresh.
	t0 := time.Now().Add(-350 * time.Millisecond)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, ms := range []int{0, 100, 200} {
		sample(m, "pg-0", true, healthcheck.DBWritable, at(ms), at(ms+2))
		sample(m, "pg-1", false, healthcheck.DBStandby, at(ms+50), at(ms+52))
	}
	// pg-0 gives the VIP up at +201 ms, pg-1 takes it at +202 ms; pg-1's
	// sample says so before pg-0's next one.
	sample(m, "pg-1", true, healthcheck.DBWritable, at(250), at(252))
	m.look()
	if ev := m.Events(0); strings.Join(ev[len(ev)-1].Holders, ",") != "pg-1" {
		t.Errorf("holders after the handover: %+v", ev[len(ev)-1])
	}
	sample(m, "pg-0", false, healthcheck.DBReadOnly, at(300), at(302))
	m.look()
	if dv, dw, _ := m.Totals(); dv != 0 || dw != 0 {
		t.Fatalf("a handover counted as two holders %s, two writers %s", dv, dw)
	}
	// Both saying so in samples taken after both took it: two holders.
	m = NewMonitor([]string{"pg-0", "pg-1"})
	sample(m, "pg-0", true, healthcheck.DBWritable, at(0), at(2))
	sample(m, "pg-1", true, healthcheck.DBWritable, at(50), at(52))
	m.look() // pg-0's latest predates pg-1's taking it: not proven yet
	sample(m, "pg-0", true, healthcheck.DBWritable, at(100), at(102))
	m.look()
	if dv, dw, _ := m.Totals(); dv != Tick || dw != Tick {
		t.Fatalf("two holders %s, two writers %s; want one look each", dv, dw)
	}
}

// Samples a node took long ago and delivered late (its kernel held them
// while its network was down) are not its present; a node whose clock is
// off is placed by the offset its samples show.
func TestMonitorPlacesSamplesWhenTaken(t *testing.T) {
	m := NewMonitor([]string{"pg-0", "pg-1"})
	now := time.Now()
	skew := 10 * time.Second // pg-1's clock runs 10 s ahead
	sample(m, "pg-0", false, healthcheck.DBStandby, now.Add(-20*time.Millisecond), now.Add(-18*time.Millisecond))
	sample(m, "pg-1", false, healthcheck.DBStandby, now.Add(skew-30*time.Second), now.Add(-30*time.Second+3*time.Millisecond))
	// pg-1's sample from 12 s ago arrives only now.
	sample(m, "pg-1", true, healthcheck.DBWritable, now.Add(skew-12*time.Second), now)
	sample(m, "pg-0", true, healthcheck.DBWritable, now.Add(-10*time.Millisecond), now.Add(-8*time.Millisecond))
	m.look()
	ev := m.Events(0)
	last := ev[len(ev)-1]
	if strings.Join(last.Holders, ",") != "pg-0" || strings.Join(last.Unseen, ",") != "pg-1" {
		t.Fatalf("a late sample was taken for the present: %+v", last)
	}
	if dv, dw, _ := m.Totals(); dv != 0 || dw != 0 {
		t.Fatalf("two holders %s, two writers %s", dv, dw)
	}
	// An older sample arriving after a newer one changes nothing.
	sample(m, "pg-0", false, healthcheck.DBUnknown, now.Add(-15*time.Millisecond), now)
	m.look()
	if ev := m.Events(0); strings.Join(ev[len(ev)-1].Holders, ",") != "pg-0" {
		t.Fatalf("an out-of-date sample replaced a newer one: %+v", ev[len(ev)-1])
	}
	// pg-1 sampled now, on its own clock: seen.
	sample(m, "pg-1", false, healthcheck.DBStandby, now.Add(skew), now.Add(2*time.Millisecond))
	m.look()
	if ev := m.Events(0); len(ev[len(ev)-1].Unseen) != 0 {
		t.Fatalf("a node with a clock ahead is unseen: %+v", ev[len(ev)-1])
	}
}
