// Package poll is haup's one wait-until loop: ask, and ask again every
// interval, until the answer is yes, the time is up or the context ends.
package poll

import (
	"context"
	"errors"
	"time"
)

// ErrTimeout is Until's error when the time ran out with check not done.
// Callers say what was waited for, and the last thing seen.
var ErrTimeout = errors.New("timed out")

// clock is the time Until reads and waits on: the real one, or a test's.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Until calls check at once, then interval after each call returns, until
// check reports done (Until returns nil) or fails (its error), ctx ends
// (ctx.Err()), or a call that was not done ends past timeout from the start
// (ErrTimeout). check runs at least once, even with a timeout of 0; it is
// not cut short at the timeout (pass it ctx to bound it).
func Until(ctx context.Context, timeout, interval time.Duration, check func() (done bool, err error)) error {
	return until(ctx, realClock{}, timeout, interval, check)
}

func until(ctx context.Context, c clock, timeout, interval time.Duration, check func() (done bool, err error)) error {
	deadline := c.Now().Add(timeout)
	for {
		done, err := check()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if c.Now().After(deadline) {
			return ErrTimeout
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.After(interval):
		}
	}
}
