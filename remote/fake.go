package remote

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Fake is an in-memory Host for hermetic tests. It answers only the scripts it
// was told to expect: an unexpected script fails the call, so a test notices a
// task that does more than it should.
type Fake struct {
	name string

	mu     sync.Mutex
	expect []fakeRule // consumed in order, before rules
	rules  []fakeRule
	calls  []string
	files  map[string][]byte
	seq    int
}

type fakeRule struct {
	marker string
	answer func(script string) (Result, error)
}

// NewFake returns a Fake named name with no expectations.
func NewFake(name string) *Fake {
	return &Fake{name: name, files: map[string][]byte{}}
}

// On answers every script containing marker with answer. Rules are tried in
// the order they were added.
func (f *Fake) On(marker string, answer func(script string) (Result, error)) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, fakeRule{marker, answer})
	return f
}

// Expect queues a script that must come next: the next Exec must contain
// marker (else it fails) and gets answer. Expectations are used once, in the
// order given; Verify reports those never used.
func (f *Fake) Expect(marker string, answer func(script string) (Result, error)) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expect = append(f.expect, fakeRule{marker, answer})
	return f
}

// Verify returns an error naming the expectations that were never met.
func (f *Fake) Verify() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.expect) == 0 {
		return nil
	}
	var left []string
	for _, e := range f.expect {
		left = append(left, e.marker)
	}
	return fmt.Errorf("fake %s: expected scripts never ran: %q", f.name, left)
}

// OnStdout answers every script containing marker with stdout and success.
func (f *Fake) OnStdout(marker, stdout string) *Fake {
	return f.On(marker, func(string) (Result, error) { return Result{Stdout: []byte(stdout)}, nil })
}

// Name implements Host.
func (f *Fake) Name() string { return f.name }

// Exec implements Host.
func (f *Fake) Exec(ctx context.Context, script string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	f.mu.Lock()
	f.calls = append(f.calls, script)
	if len(f.expect) > 0 {
		next := f.expect[0]
		f.expect = f.expect[1:]
		f.mu.Unlock()
		if !strings.Contains(script, next.marker) {
			return Result{}, fmt.Errorf("fake %s: expected a script with %q next, got:\n%s", f.name, next.marker, script)
		}
		return next.answer(script)
	}
	rules := append([]fakeRule(nil), f.rules...)
	f.mu.Unlock()
	for _, r := range rules {
		if strings.Contains(script, r.marker) {
			return r.answer(script)
		}
	}
	return Result{}, fmt.Errorf("fake %s: unexpected script:\n%s", f.name, script)
}

// Put implements Host.
func (f *Fake) Put(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	p := fmt.Sprintf("%s/fake/%d", StagingRoot, f.seq)
	f.files[p] = append([]byte(nil), data...)
	return p, nil
}

// Close implements Host.
func (f *Fake) Close() error { return nil }

// Calls returns every script Exec received, in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Uploaded returns the data of every Put, by staging path.
func (f *Fake) Uploaded() map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]byte, len(f.files))
	for k, v := range f.files {
		out[k] = v
	}
	return out
}
