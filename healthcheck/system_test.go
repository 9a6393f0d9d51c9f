package healthcheck

import (
	"context"
	"errors"
	"strings"
)

// fakeSystem is a System whose commands are the test's functions; one the
// test did not give fails, naming the command, and runs nothing on the
// test's host.
type fakeSystem struct {
	systemctl func(ctx context.Context, name string, args ...string) error
	firewall  func(ctx context.Context, cmd string, args ...string) error
	ss        func(ctx context.Context, args ...string) ([]byte, error)
	procState func(pid int) string
}

var _ System = fakeSystem{}

func (f fakeSystem) Systemctl(ctx context.Context, name string, args ...string) error {
	if f.systemctl == nil {
		return notFaked(name, args)
	}
	return f.systemctl(ctx, name, args...)
}

func (f fakeSystem) Firewall(ctx context.Context, cmd string, args ...string) error {
	if f.firewall == nil {
		return notFaked(cmd, args)
	}
	return f.firewall(ctx, cmd, args...)
}

func (f fakeSystem) SS(ctx context.Context, args ...string) ([]byte, error) {
	if f.ss == nil {
		return nil, notFaked("ss", args)
	}
	return f.ss(ctx, args...)
}

// ProcState is "" (unreadable) unless the test says.
func (f fakeSystem) ProcState(pid int) string {
	if f.procState == nil {
		return ""
	}
	return f.procState(pid)
}

func notFaked(name string, args []string) error {
	return errors.New("not faked: " + name + " " + strings.Join(args, " "))
}
