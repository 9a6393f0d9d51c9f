// Package agent is the node agent's decision: from what one keepalived run
// of haup-check observed and what the agent remembers, Decide says whether
// this node may hold the VIP, why (a code and a message), what to do about
// it, and what to remember. It does no I/O and reads no clock: the runner in
// cmd/haup-check observes, calls Decide, carries out the actions within the
// run's budget, and folds their outcomes in with Settle.
//
// Decisions read codes, never messages: a message is for people, and a test
// (TestNoDecisionReadsAMessage) fails on code that compares one.
package agent

import "time"

// Role is what a database says it is.
type Role string

// Roles a database can report; RoleDown when it did not answer.
const (
	RolePrimary Role = "primary"
	RoleStandby Role = "standby"
	RoleDown    Role = "down"
)

// Fault is why a database did not answer, as a code. Its message is kept
// beside it for people; no decision reads the message.
type Fault string

// Faults, from the observation's driver errors.
const (
	// FaultNone: it answered.
	FaultNone Fault = ""
	// FaultTimeout: no answer in the time given (frozen, cut off, slow).
	FaultTimeout Fault = "timeout"
	// FaultRefused: its host refused the connection (the host is up, its
	// database is not).
	FaultRefused Fault = "refused"
	// FaultAuth: the server refused the password (SQLSTATE 28P01).
	FaultAuth Fault = "auth"
	// FaultServer: the server answered with another error (a SQLSTATE).
	FaultServer Fault = "server"
	// FaultNotAsked: not asked, or not waited for, once the verdict was
	// known.
	FaultNotAsked Fault = "not-asked"
	// FaultOther: anything else (DNS, routing, an unexpected answer).
	FaultOther Fault = "other"
)

// Answered tells whether the host answered on the network, if only to
// refuse: a database that replied, an error from its server, a refused
// connection. A timeout or an unreachable route is not an answer.
func (f Fault) Answered() bool {
	return f == FaultNone || f == FaultRefused || f == FaultAuth || f == FaultServer
}

// Config is what Decide needs of the check's configuration.
type Config struct {
	Node string
	// Port is the local database's port (the port fence's).
	Port int
	// DeadlineMillis is the check's deadline (80% of keepalived's
	// timeout): the run's budget derives from it (see Budget).
	DeadlineMillis int
	// Witness is the witness's name; "" without a witness.
	Witness string
	// Synchronous is zero-loss mode (see decideSync).
	Synchronous bool
	// VIP: a virtual address is configured.
	VIP bool
	// RepmgrdStaleS is the longest a standby's repmgrd goes between two
	// checks of its upstream; 0: its connections are never reset.
	RepmgrdStaleS int
	// MemoryPath is where the memory record is kept, for messages.
	MemoryPath string
	// MaxLag bounds an asynchronous promotion's loss (the promotion gate).
	MaxLag MaxLag
}

// Observation is what one run saw, taken once, before any decision.
type Observation struct {
	// Keepalived: keepalived's own run, which records, fences and manages.
	// A run by haup or a person (-v, -json) only gives the verdict.
	Keepalived bool
	// Begin is when the run began; Now when the observation ended.
	Begin, Now time.Time
	// Boot identifies the host's boot: what the agent remembers of the
	// database's last answer is forgotten at a reboot.
	Boot  string
	Local Local
	// Peers are the other nodes' databases, in the configuration's order.
	Peers []Peer
	// Witness is nil without a witness.
	Witness *Witness
	// Fence is the fencing in force (fence.json, shared with the rejoin
	// unit and haup); nil when none.
	Fence *Fence
	// PortClosed is the port fence in force (its mark lives as long as the
	// firewall rules, in /run); nil when none.
	PortClosed *PortFence
	// Repmgrd is the local repmgrd as its database knows it (standbys, in
	// keepalived's runs); nil when not read or unreadable.
	Repmgrd *Repmgrd
	// Streaming: the standby's WAL receiver streams (read while a fencing
	// is in force, to lift it).
	Streaming bool
	// Promoted: this is a second look, the database having been promoted
	// during the run, PromotedAfterMS after it began.
	Promoted        bool
	PromotedAfterMS int64
	// VIPHeld: the VIP is on one of this host's interfaces.
	VIPHeld bool
	// Gate is the promotion gate's record the last run published (nil:
	// none, or unreadable).
	Gate *Gate
	// Pause is the pause of repmgrd's failover recorded on this node
	// (a switchover's or `haup pause`); nil when none.
	Pause *Pause
	// Handover is a switchover's handover recorded on this node when haup
	// demoted it (nil: none); see decideHandover.
	Handover *Handover
}

// Handover is a switchover's handover, as its record says: when the
// primary was demoted and until when it may keep the VIP for the target.
type Handover struct {
	At, Until time.Time
}

// Pause is a pause of repmgrd's failover, as its record says: its kind
// (switchover or maintenance), when it was set and when it ends.
type Pause struct {
	Kind      string
	At, Until time.Time
}

// PauseGrace is how long after its end a pause's own timer has to resume
// it before the agent does (the timer fires at the end; a reboot loses
// it, and a timer that fails leaves failover paused for good).
const PauseGrace = 5 * time.Second

// Local is what the local database said about itself.
type Local struct {
	Role     Role
	Timeline int
	LSN      string
	// At is when it was asked (the run's start).
	At time.Time
	// ReadOnly is default_transaction_read_only: a primary with it on
	// has been fenced and refuses writes.
	ReadOnly bool
	// SyncNames is synchronous_standby_names; Streaming counts the
	// standbys streaming from a primary.
	SyncNames string
	Streaming int
	// ReceiveLSN is a standby's last WAL received and flushed; Receiver
	// its WAL receiver's session while it streams ("" when it does not):
	// the receiver's pid and the server's start time.
	ReceiveLSN string
	Receiver   string
	// Fault and Error: why it did not answer (Role is RoleDown).
	Fault Fault
	Error string
}

// Peer is what a peer's database said.
type Peer struct {
	Name     string
	Role     Role
	Timeline int
	// LSN is its WAL position (a primary's current one), SyncNames its
	// synchronous_standby_names.
	LSN       string
	SyncNames string
	Fault     Fault
	// Seen: its host answered on the network, if only to refuse.
	Seen bool
	// Older: not waited for, last seen on an older timeline than ours.
	Older bool
}

// Witness is what the witness's database said.
type Witness struct {
	Name string
	// Seen: its database answered (its vote is its repmgr, not its host).
	Seen bool
}

// Fence is a fencing in force, as its record says.
type Fence struct {
	At     time.Time
	Reason string
}

// PortFence is the mark of a closed database port.
type PortFence struct {
	At     time.Time
	Port   int
	Reason string
}

// Repmgrd is the local repmgrd's state.
type Repmgrd struct {
	// Running: a repmgrd registered with the database and runs.
	Running bool
	// Paused: its failover is paused (a switchover's pause).
	Paused bool
	// UpstreamLastSeenS: seconds since it last reached its upstream (-1:
	// never since the database started).
	UpstreamLastSeenS int
	// WALReceiver is the WAL receiver's state ("" when none runs).
	WALReceiver string
}

// Stale names the newer primary that superseded this node's.
type Stale struct {
	Peer     string
	Timeline int
}
