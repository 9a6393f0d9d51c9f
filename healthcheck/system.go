package healthcheck

import "context"

// System is what the agent runs on its host besides the database: systemd
// and its timers, the firewall, the kernel's sockets and processes. Host is
// the real one; the unit tests pass their own, since they run on hosts whose
// systemd, firewall and sockets are not theirs to change (the lab's nodes
// run the real ones). A value, passed to the code that uses it: no
// test changes what another one runs.
type System interface {
	// Systemctl runs systemctl or systemd-run (name) with args.
	Systemctl(ctx context.Context, name string, args ...string) error
	// Firewall runs iptables or ip6tables (cmd) with args; a missing
	// ip6tables is no error (no IPv6 firewall, nothing to close there),
	// and iptables -C's "no such rule" is errRuleAbsent.
	Firewall(ctx context.Context, cmd string, args ...string) error
	// SS runs the ss utility with args and returns its standard output;
	// anything on its standard error is an error (ss -K without the
	// privilege to close a socket says so there and exits 0).
	SS(ctx context.Context, args ...string) ([]byte, error)
	// ProcState returns the state letter of a process (R, S, D, T...),
	// "" when it cannot be read.
	ProcState(pid int) string
}

// Host is the System of the node the agent runs on.
type Host struct{}
