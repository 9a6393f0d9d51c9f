package progress

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/testenv"
)

// clock is a fake clock the test moves on by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// script reports a clone, a pull and a wait the same way on any output, with
// samples more frequent than Every (some are not shown), a wait shorter than
// Every (no update) and lines between.
func script(p *Writer, c *clock) {
	p.Printf("pg-2", "starting pg: it clones from pg-1")
	clone := p.Start("pg-2", "cloning from pg-1")
	clone.Status("waiting for checkpoint to finish") // under Every: not shown
	c.advance(2 * time.Second)
	clone.Status("waiting for checkpoint to finish")
	c.advance(time.Second)
	clone.Bytes(0, 1<<30)
	for i := 1; i <= 8; i++ {
		c.advance(time.Second)
		clone.Bytes(int64(i)*128<<20, 1<<30)
	}
	pull := p.Start("pg-1", "pulling example/pg:16")
	pull.Count(2, 7, "layers")
	c.advance(3 * time.Second)
	p.Printf("pg-1", "a line between updates")
	pull.Count(5, 7, "layers")
	pull.Done("")
	clone.Done("")
	wait := p.Start("pg-3", "waiting until it streams again")
	wait.Status("standby: not streaming yet")
	c.advance(time.Second)
	wait.Status("standby: not streaming yet")
	c.advance(2 * time.Second)
	wait.Status("standby: not streaming yet")
	wait.Stop()
	unknown := p.Start("pg-3", "cloning from pg-1")
	unknown.Bytes(10<<20, -1)
	c.advance(2 * time.Second)
	unknown.Bytes(30<<20, -1)
	unknown.Done("streaming from pg-1")
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		tty  bool
	}{{"lines", false}, {"terminal", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
			var buf bytes.Buffer
			script(New(&buf, Options{Terminal: tc.tty, Now: c.now}), c)
			// The terminal's control sequences made visible.
			got := strings.NewReplacer("\r", "<CR>", "\x1b[K", "<EL>").Replace(buf.String())
			testenv.Golden(t, filepath.Join("testdata", tc.name+".golden"), []byte(got))
		})
	}
}

func TestFrom(t *testing.T) {
	p := New(&bytes.Buffer{}, Options{Terminal: true})
	if From(p) != p {
		t.Error("From does not return the Writer it is given")
	}
	var buf bytes.Buffer
	From(&buf).Printf("n", "x")
	From(nil).Printf("n", "x")
	if buf.String() != "n: x\n" {
		t.Errorf("From(buffer) printed %q", buf.String())
	}
}

func TestFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 312 << 20: "312.0 MiB", 3 << 40: "3.0 TiB", 5000 << 40: "5000.0 TiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0s", 1499 * time.Millisecond: "1s", 125 * time.Second: "2m05s", 3720 * time.Second: "1h02m"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}
