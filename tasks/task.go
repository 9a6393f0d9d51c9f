package tasks

import (
	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
)

// Task is what apply does on a node to make one change (Change.Task): a
// value the plan holds, one small type per kind of work with the data it
// needs, so that planning builds no apply code and a test reads what apply
// would do by the task's type and fields. The set is closed (only this
// package's types are tasks); package apply carries out each of them.
type Task interface {
	isTask()
}

// ExecStep runs Script on the node, a failure named as the step Step.
type ExecStep struct {
	Step, Script string
}

// Nothing does nothing on the node: the change's effect is apply's own
// (the record of an interrupted apply, replaced by this apply's record and
// removed at its end).
type Nothing struct{}

// InstallKeepalived installs keepalived's package with apt, keeping any
// configuration already on the node; apply shows apt's output only when it
// fails.
type InstallKeepalived struct{}

// MakeDir creates the directory Dir, or sets its mode and owner.
type MakeDir struct {
	Dir desired.Dir
}

// ChmodFile sets the mode and owner of File, whose content is right.
type ChmodFile struct {
	File desired.File
}

// InstallFile uploads File to the node's staging directory, validates it
// when the file has a validator (a rejected file leaves the live one as it
// is), keeps the old version as PATH.haup-bak and replaces the live file
// atomically (a rename in the same directory).
type InstallFile struct {
	File desired.File
}

// PullImage pulls Image, which the node lacks; apply reports its layers
// while it runs.
type PullImage struct {
	Image string
}

// RunContainer creates the container from Spec; with Replace, the one there
// is removed first, its database shut down cleanly.
type RunContainer struct {
	Spec    desired.ContainerSpec
	Replace bool
}

// StartContainer starts the stopped container Name.
type StartContainer struct {
	Name string
}

// ResetWitness removes the witness's container and the data in DataDir,
// then creates the container again from Spec: a new database, with the
// passwords of the files.
type ResetWitness struct {
	Spec    desired.ContainerSpec
	DataDir string
}

// FinishVerifyFull installs File, the final service file, then restarts the
// WAL receiver of the container Container so that replication reconnects
// with it.
type FinishVerifyFull struct {
	File      desired.File
	Container string
}

// ReloadTLS copies the TLS key again for PostgreSQL's user in the running
// container Container, then reloads PostgreSQL.
type ReloadTLS struct {
	Container string
}

// SwapPassword moves the staged password file Staged over the live one,
// Live.
type SwapPassword struct {
	Staged, Live string
}

// SetPassword sets Role's password inside the database from File, a file on
// the node, through the agent (the password is in no statement or log).
type SetPassword struct {
	Role, File string
}

// Rejoin clones the node again as a standby of the current primary, through
// the haup-rejoin unit, and waits until it streams and its repmgrd watches
// the primary. Addr is the node's database address, to report the clone's
// progress; Repmgr the inventory's repmgrd settings, for the wait.
type Rejoin struct {
	Addr   string
	Repmgr inventory.Repmgr
}

// Follow starts the node's stopped database as a standby of the primary
// Conninfo names, on the data it has, and waits until it streams and its
// repmgrd watches the primary; when it does not stream within 45 s, it
// falls back to Clone.
type Follow struct {
	Conninfo string
	Clone    Rejoin
}

// ReplaceHBA installs Content as the running database's pg_hba.conf and
// reloads PostgreSQL in the container Container, then writes it to HostPath
// on the host (or, when HostPath is "", removes the host's file, kept as
// .haup-bak). The container comes first: an apply interrupted in between
// leaves the host's file as it was, so the next plan shows the change again
// and makes both.
type ReplaceHBA struct {
	Container string
	Content   []byte
	HostPath  string
}

func (ExecStep) isTask()          {}
func (Nothing) isTask()           {}
func (InstallKeepalived) isTask() {}
func (MakeDir) isTask()           {}
func (ChmodFile) isTask()         {}
func (InstallFile) isTask()       {}
func (PullImage) isTask()         {}
func (RunContainer) isTask()      {}
func (StartContainer) isTask()    {}
func (ResetWitness) isTask()      {}
func (FinishVerifyFull) isTask()  {}
func (ReloadTLS) isTask()         {}
func (SwapPassword) isTask()      {}
func (SetPassword) isTask()       {}
func (Rejoin) isTask()            {}
func (Follow) isTask()            {}
func (ReplaceHBA) isTask()        {}
