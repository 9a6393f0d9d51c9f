package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeClock stands still but for the waits, which pass at once: every wait
// moves it on by its duration, and the test knows what time it is.
type fakeClock struct {
	t     time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time { return c.t }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.t
	return ch
}

func TestUntilDone(t *testing.T) {
	c := newFakeClock()
	calls := 0
	err := until(context.Background(), c, time.Minute, time.Second, func() (bool, error) {
		calls++
		return calls == 3, nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want nil after 3", err, calls)
	}
	if len(c.waits) != 2 || c.waits[0] != time.Second || c.waits[1] != time.Second {
		t.Errorf("waits %v, want two of 1s", c.waits)
	}
}

// TestUntilTimeout: the calls go on until one ends past the timeout; the
// one that ends exactly at it is not yet late.
func TestUntilTimeout(t *testing.T) {
	c := newFakeClock()
	calls := 0
	err := until(context.Background(), c, 3*time.Second, time.Second, func() (bool, error) {
		calls++
		return false, nil
	})
	if !errors.Is(err, ErrTimeout) || calls != 5 {
		t.Fatalf("err %v after %d calls, want ErrTimeout after 5 (at 0, 1, 2, 3 and 4 s)", err, calls)
	}
}

// TestUntilZeroTimeoutCallsOnce: with no time given, the one call that
// takes any time is the last.
func TestUntilZeroTimeoutCallsOnce(t *testing.T) {
	c := newFakeClock()
	calls := 0
	slow := func() (bool, error) { calls++; c.t = c.t.Add(time.Millisecond); return false, nil }
	if err := until(context.Background(), c, 0, time.Second, slow); !errors.Is(err, ErrTimeout) || calls != 1 {
		t.Fatalf("err %v after %d calls, want ErrTimeout after 1", err, calls)
	}
}

func TestUntilCheckError(t *testing.T) {
	c := newFakeClock()
	boom := errors.New("boom")
	calls := 0
	err := until(context.Background(), c, time.Minute, time.Second, func() (bool, error) {
		calls++
		if calls == 2 {
			return false, boom
		}
		return false, nil
	})
	if err != boom || calls != 2 {
		t.Fatalf("err %v after %d calls, want boom after 2", err, calls)
	}
}

// TestUntilContext: a context ended while waiting ends the wait with its
// error, without another call. (The real clock: the wait must be cut.)
func TestUntilContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Until(ctx, time.Hour, time.Hour, func() (bool, error) {
		calls++
		cancel()
		return false, nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("err %v after %d calls, want context.Canceled after 1", err, calls)
	}
}
