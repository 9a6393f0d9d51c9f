// Package remote is haup's only way to reach a node. Tasks depend on the Host
// interface alone; the SSH implementation and the in-memory fake live here.
package remote

import (
	"context"
	"fmt"
)

// Host is one node reached by haup.
type Host interface {
	// Name is the node's inventory name, for messages.
	Name() string
	// Exec runs script with /bin/sh as root (through `sudo -n` when the login
	// user is not root). The script travels on stdin, never on a command line,
	// so nothing in it shows in the node's process list. A non-zero exit is an
	// *ExitError carrying the code and stderr.
	Exec(ctx context.Context, script string) (Result, error)
	// Put writes data to a new file, mode 0600, in a private staging directory
	// of this connection and returns its path; a later Exec moves it into place.
	// The staging directory is removed by Close.
	Put(ctx context.Context, data []byte) (string, error)
	// Close ends the connection and removes the staging directory.
	Close() error
}

// Result is the output of a successful Exec.
type Result struct {
	Stdout []byte
	Stderr []byte
}

// ExitError is a remote command that ran and exited non-zero.
type ExitError struct {
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("remote command exited %d", e.Code)
	}
	return fmt.Sprintf("remote command exited %d: %s", e.Code, e.Stderr)
}

// StagingRoot holds one private directory per connection that uploaded
// files (mode 0700, owned by the login user); only root can list it.
const StagingRoot = "/var/lib/haup/stage"

// StepError is a remote failure located: the node, the step of haup's work
// and the underlying error (an *ExitError carries the exit code and stderr).
// Its message leaves the host out: the per-node runner adds it once.
type StepError struct {
	Host string
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *StepError) Unwrap() error { return e.Err }

// Stats counts what a connection did, for benchmarks.
type Stats struct {
	Connections int
	Sessions    int
}
