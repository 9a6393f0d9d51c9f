package nodeapi

import (
	"time"

	"github.com/haup-project/haup/agent"
)

// Roles a database can report.
const (
	RolePrimary = "primary"
	RoleStandby = "standby"
	RoleDown    = "down"
)

// Report is the outcome of one check (healthcheck.Run). It is printed by
// -json and written to Config.StatePath for `haup status`.
type Report struct {
	Node string `json:"node"`
	// Pass is true only when this node may hold the VIP.
	Pass bool `json:"pass"`
	// Reason says why the check passed or failed, in one line; Code is
	// its kind (agent.Code), for machines.
	Reason   string `json:"reason"`
	Code     string `json:"code,omitempty"`
	Role     string `json:"role"`
	Timeline int    `json:"timeline,omitempty"`
	// LSN is the current WAL position (primary) or last replayed one.
	LSN       string       `json:"lsn,omitempty"`
	Peers     []PeerReport `json:"peers,omitempty"`
	LatencyMS float64      `json:"latency_ms"`
	At        time.Time    `json:"at"`
	// DurationMS is keepalived's whole run, from its start to its
	// verdict, actions included.
	DurationMS float64 `json:"duration_ms,omitempty"`
	// Stale is set when this node's database is a primary and a reachable
	// peer is a primary on a newer timeline: it must be fenced.
	Stale *Stale `json:"stale,omitempty"`
	// Fenced is set when a fencing of this node is in force.
	Fenced bool `json:"fenced,omitempty"`
	// Sync is the primary's zero-loss verdict (see agent.Decide): "on: ...",
	// "suspended: ...", "waiting: ..." or "off"; empty elsewhere.
	Sync string `json:"sync,omitempty"`
	// Precedence is 1 for a passing primary newer than every peer's last
	// seen timeline: keepalived raises its priority so it takes the VIP
	// from an older primary that still passes (see agent.Decide).
	Precedence int `json:"precedence,omitempty"`
	// Witness is what the witness's database said (with a witness only).
	Witness *PeerReport `json:"witness,omitempty"`
	// Isolated is set when this primary sees neither a peer nor the
	// witness on the network (see agent.Decide).
	Isolated bool `json:"isolated,omitempty"`
	// Known is the local database's role when it last answered (carried
	// over from check to check while it does not: see the agent's memory).
	Known *Known `json:"known,omitempty"`

	// What the observation found besides, for the agent's decision and not
	// on the wire: why the local database did not answer, as a code; and
	// what it said about writes and synchronous replication.
	LocalFault agent.Fault `json:"-"`
	LocalError string      `json:"-"`
	ReadOnly   bool        `json:"-"`
	SyncNames  string      `json:"-"`
	Streaming  int         `json:"-"`
	ReceiveLSN string      `json:"-"`
	Receiver   string      `json:"-"`
}

// Known is what the local database last said about itself.
type Known struct {
	Role     string    `json:"role"`
	Timeline int       `json:"timeline,omitempty"`
	LSN      string    `json:"lsn,omitempty"`
	At       time.Time `json:"at"`
}

// Stale names the newer primary that superseded this node's.
type Stale struct {
	Peer     string `json:"peer"`
	Timeline int    `json:"timeline"`
}

// PeerReport is what a peer's database said.
type PeerReport struct {
	Name     string  `json:"name"`
	Role     string  `json:"role"`
	Timeline int     `json:"timeline,omitempty"`
	Error    string  `json:"error,omitempty"`
	MS       float64 `json:"latency_ms"`

	// Fault is why it did not answer, as a code (FaultNone when Error is
	// empty); Seen: the host answered on the network, if only to refuse;
	// Older: not waited for, last seen on an older timeline (see
	// agent.Memory.OlderPeers). Not on the wire.
	Fault agent.Fault `json:"-"`
	Seen  bool        `json:"-"`
	Older bool        `json:"-"`
	// LSN and SyncNames: a peer primary's WAL position and
	// synchronous_standby_names (the promotion gate's).
	LSN       string `json:"-"`
	SyncNames string `json:"-"`
}

// Unsettled names the peers that neither answered (if only to refuse) nor
// were last seen on an older timeline: their silence may only mean the
// time given was short, and one of them could be a primary as new as this
// node. A check given its whole deadline counts them as unreachable; one
// run again in what is left of a deadline (a standby promoted during it)
// must not.
func (r Report) Unsettled() []string {
	var out []string
	for _, p := range r.Peers {
		if p.Role == RoleDown && !p.Seen && !p.Older {
			out = append(out, p.Name)
		}
	}
	return out
}

// Observed is the report in the agent's terms.
func (r Report) Observed() (agent.Local, []agent.Peer, *agent.Witness) {
	local := agent.Local{Role: agent.Role(r.Role), Timeline: r.Timeline, LSN: r.LSN, At: r.At, ReadOnly: r.ReadOnly,
		SyncNames: r.SyncNames, Streaming: r.Streaming, ReceiveLSN: r.ReceiveLSN, Receiver: r.Receiver, Fault: r.LocalFault, Error: r.LocalError}
	var peers []agent.Peer
	for _, p := range r.Peers {
		peers = append(peers, agent.Peer{Name: p.Name, Role: agent.Role(p.Role), Timeline: p.Timeline, LSN: p.LSN, SyncNames: p.SyncNames, Fault: p.Fault, Seen: p.Seen, Older: p.Older})
	}
	var w *agent.Witness
	if r.Witness != nil {
		w = &agent.Witness{Name: r.Witness.Name, Seen: r.Witness.Seen}
	}
	return local, peers, w
}

// StatusReport is the check's report (healthcheck.Status) plus what `haup
// status` shows: replication and repmgr's view of the cluster.
type StatusReport struct {
	Report
	// Replication is, on a standby, its WAL receiver; on a primary, one
	// entry per connected standby.
	Replication []Replication `json:"replication,omitempty"`
	// Repmgr is repmgr's record of the cluster as this node sees it.
	Repmgr      []RepmgrNode `json:"repmgr,omitempty"`
	StatusError string       `json:"status_error,omitempty"`
	// PostgreSQL is the server version; TimescaleDB the extension's version
	// in the check's database (or the version available, when not created).
	PostgreSQL  string `json:"postgresql,omitempty"`
	TimescaleDB string `json:"timescaledb,omitempty"`
	// FailoverPaused: repmgrd on this node will not fail over (a
	// switchover's pause, see healthcheck.PauseFailover); Pause is its
	// record, when one is kept on the node.
	FailoverPaused bool         `json:"failover_paused,omitempty"`
	Pause          *PauseRecord `json:"pause,omitempty"`
	// Repmgrd is repmgrd on this node as its database knows it; nil when
	// repmgr's metadata could not be read.
	Repmgrd *RepmgrdState `json:"repmgrd,omitempty"`
	// PortClosed is the frozen-primary fence's closing of the database
	// port to other hosts, while in force (see healthcheck.FenceFrozen).
	PortClosed *PortFence `json:"port_closed,omitempty"`
	// Settling: the database image's setup still runs in the container
	// (its PID 1 is not repmgrd yet); it stops and starts PostgreSQL on
	// its own meanwhile, so an answer now says nothing about a minute later.
	Settling bool `json:"settling,omitempty"`
	// LastFailover is when repmgrd last promoted a standby by itself, as
	// repmgr's events record it (replicated: every node tells the
	// cluster's); nil when it never has or could not be read.
	LastFailover *time.Time `json:"last_failover,omitempty"`
	// AgentVersion is the version of the haup-check that answered.
	AgentVersion string `json:"agent_version,omitempty"`
}

// RepmgrdState is what repmgr's shared memory says of the local repmgrd.
type RepmgrdState struct {
	// Running: a repmgrd registered its pid with this database and that
	// process exists.
	Running bool `json:"running"`
	// UpstreamLastSeenS is how many seconds ago repmgrd last saw its
	// upstream (a standby's repmgrd records it at every check); -1 when
	// it never has since the database started.
	UpstreamLastSeenS int `json:"upstream_last_seen_s"`
	// WALReceiver is the local WAL receiver's state ("" when none runs),
	// read with it by healthcheck.ReadRepmgrd for the standby's check (see
	// agent.FailoverUnderWay).
	WALReceiver string `json:"-"`
}

// Replication is one replication link.
type Replication struct {
	// Peer is the sending primary (on a standby) or the receiving standby.
	Peer  string `json:"peer"`
	State string `json:"state"`
	// LagBytes is how far replay trails the primary's WAL; LagSeconds how
	// old the last replayed transaction is (standby side only).
	LagBytes   int64   `json:"lag_bytes"`
	LagSeconds float64 `json:"lag_seconds"`
}

// RepmgrNode is a row of repmgr.nodes.
type RepmgrNode struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Active   bool   `json:"active"`
	Upstream string `json:"upstream,omitempty"`
}

// Agent is the state in the agent's terms, with repmgr's pause flag.
func (st RepmgrdState) Agent(paused bool) agent.Repmgrd {
	return agent.Repmgrd{Running: st.Running, Paused: paused, UpstreamLastSeenS: st.UpstreamLastSeenS, WALReceiver: st.WALReceiver}
}

// Sync verdicts, the first word of Report.Sync.
const (
	SyncOn        = agent.SyncOn
	SyncSuspended = agent.SyncSuspended
	SyncWaiting   = agent.SyncWaiting
	SyncOff       = agent.SyncOff
)

// RepmgrDatabase is the database holding repmgr's metadata and functions.
const RepmgrDatabase = "repmgr"
