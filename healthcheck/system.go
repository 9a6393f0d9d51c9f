package healthcheck

import "context"

// System is what the agent runs on its host besides the database: systemd
// and its timers. Host is the real one; the unit tests pass their own,
// since they run on hosts whose systemd is not theirs to change (the lab's
// nodes run the real one). A value, passed to the code that uses it: no
// test changes what another one runs.
type System interface {
	// Systemctl runs systemctl or systemd-run (name) with args.
	Systemctl(ctx context.Context, name string, args ...string) error
}

// Host is the System of the node the agent runs on.
type Host struct{}
