package healthcheck

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// watchFor runs Watch for d and returns its samples.
func watchFor(t *testing.T, cfg nodeapi.Config, d time.Duration) []nodeapi.WatchSample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out bytes.Buffer
	if err := Watch(ctx, cfg, testPassword, 100*time.Millisecond, &out); err != nil {
		t.Fatal(err)
	}
	var samples []nodeapi.WatchSample
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var s nodeapi.WatchSample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("sample %q: %v", sc.Text(), err)
		}
		samples = append(samples, s)
	}
	return samples
}

// Watch tells a writable primary, a standby, a fenced primary and a frozen
// one apart, at its sampling rate.
func TestWatchStates(t *testing.T) {
	p := newPrimary(t, "")
	s := newStandby(t, p)
	last := func(samples []nodeapi.WatchSample) nodeapi.WatchSample {
		if len(samples) < 3 {
			t.Fatalf("%d samples in 450 ms at 100 ms", len(samples))
		}
		return samples[len(samples)-1]
	}
	if got := last(watchFor(t, p.config(), 450*time.Millisecond)); got.DB != nodeapi.DBWritable || got.Timeline != 1 || got.VIP {
		t.Errorf("primary: %+v", got)
	}
	if got := last(watchFor(t, s.config(), 450*time.Millisecond)); got.DB != nodeapi.DBStandby {
		t.Errorf("standby: %+v", got)
	}
	if _, err := query(context.Background(), p.config(), testPassword, "postgres", "ALTER SYSTEM SET default_transaction_read_only = on"); err != nil {
		t.Fatal(err)
	}
	if _, err := query(context.Background(), p.config(), testPassword, "postgres", "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := last(watchFor(t, p.config(), 450*time.Millisecond)); got.DB != nodeapi.DBReadOnly {
		t.Errorf("fenced primary: %+v", got)
	}
	// A frozen server never stalls the watch: every sample still comes,
	// saying unknown.
	pid := p.pid()
	syscall.Kill(pid, syscall.SIGSTOP)
	samples := watchFor(t, p.config(), 650*time.Millisecond)
	syscall.Kill(pid, syscall.SIGCONT)
	if got := last(samples); got.DB != nodeapi.DBUnknown || got.Error == "" {
		t.Errorf("frozen primary: %+v", got)
	}
	p.stop()
	if got := last(watchFor(t, p.config(), 450*time.Millisecond)); got.DB != nodeapi.DBUnknown {
		t.Errorf("stopped primary: %+v", got)
	}
}
