package nodeapi

import "time"

// FenceRecord is written when a stale primary is fenced and kept until the
// node streams again as a standby. While it exists the check fails, so a
// fenced node never takes the VIP, even if it comes back as a primary.
type FenceRecord struct {
	At     time.Time `json:"at"`
	Node   string    `json:"node"`
	Reason string    `json:"reason"`
	// Timeline and LSN are where this node's database stood when fenced.
	Timeline int    `json:"timeline,omitempty"`
	LSN      string `json:"lsn,omitempty"`
	// Peer and PeerTimeline name the newer primary.
	Peer         string `json:"peer,omitempty"`
	PeerTimeline int    `json:"peer_timeline,omitempty"`
	// State is fenced, rejoining, waiting or failed; Error says why it waits
	// or failed.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// KeptAt is where the diverged data directory was moved, never deleted.
	KeptAt string `json:"kept_at,omitempty"`
}

// PausePath is where the agent records a pause of failover in force (a
// PauseRecord), for `haup status` and for the rejoin of a node paused for
// maintenance.
const PausePath = "/var/lib/haup/failover-pause.json"

// PauseRecord is a pause in force, as recorded by healthcheck.PauseFailover.
type PauseRecord struct {
	At    time.Time `json:"at"`
	Until time.Time `json:"until"`
	Why   string    `json:"why"`
	// Kind is PauseMaintenance for `haup pause`; absent (records of
	// earlier agents) or PauseSwitchover for a switchover's own pause.
	Kind string `json:"kind,omitempty"`
	// By is who paused (user@host of the haup run), when known.
	By string `json:"by,omitempty"`
}

// The kinds of pause. A switchover's pause is haup's own, for the minutes
// of one switchover; a maintenance pause is an operator's (`haup pause`),
// which apply keeps and only `haup resume` or its own timer ends.
const (
	PauseSwitchover  = "switchover"
	PauseMaintenance = "maintenance"
)

// Maintenance reports whether r is an operator's maintenance pause.
func (r *PauseRecord) Maintenance() bool { return r != nil && r.Kind == PauseMaintenance }

// PortFencePath marks the port as closed by haup (in /run: the rules go
// with a reboot, and so does the mark).
const PortFencePath = "/run/haup/port-closed.json"

// PortFence is the record of a closed port.
type PortFence struct {
	At     time.Time `json:"at"`
	Port   int       `json:"port"`
	Reason string    `json:"reason"`
}

// HandoverPath records a switchover's handover on the old primary (in /run:
// it lasts seconds, and a reboot ends it). Demote writes it; Follow and
// Undemote remove it; past Until it is ignored (see agent.Decide).
const HandoverPath = "/run/haup/handover.json"

// HandoverFor is how long a demoted primary may keep the VIP for its
// switchover's target: the switchover's demotion, clean stop, catch-up,
// promotion and the target's check take about 2 s; a switchover that takes
// longer than this loses only the handover (the VIP is then briefly held by
// no node, as before handovers existed).
const HandoverFor = 10 * time.Second

// HandoverRecord is a handover in force.
type HandoverRecord struct {
	At    time.Time `json:"at"`
	Until time.Time `json:"until"`
}

// DivergedPrefix names the directories the start gate keeps data in, in
// the volume (DATA_DIR/diverged-<time>), with KeptRecordFile beside data.
const (
	DivergedPrefix = "diverged-"
	KeptRecordFile = "kept.json"
)

// KeptRecord says what a kept data directory holds.
type KeptRecord struct {
	At   time.Time `json:"at"`
	Node string    `json:"node"`
	// Timeline and EndLSN: where its last WAL record begins; ForkLSN where the current
	// primary's history left that timeline ("" when it never was on it).
	Timeline  int    `json:"timeline"`
	EndLSN    string `json:"end_lsn"`
	ForkLSN   string `json:"fork_lsn,omitempty"`
	PastFork  int64  `json:"past_fork_bytes"`
	State     string `json:"state"`
	Primary   string `json:"primary"`
	PrimaryTL int    `json:"primary_timeline"`
	SizeBytes int64  `json:"size_bytes"`
	Reason    string `json:"reason"`
	// Commits are the transactions its WAL commits from CommitsFrom on
	// (the fork, or when the WAL there is gone, the last checkpoint's
	// redo: then CommitsComplete is false), at most MaxKeptCommits of
	// them, the latest; CommitCount counts them all. Read with pg_waldump
	// when the data is kept; absent when its WAL cannot be read.
	CommitsFrom     string       `json:"commits_from,omitempty"`
	CommitsComplete bool         `json:"commits_complete,omitempty"`
	CommitCount     int          `json:"commit_count,omitempty"`
	Commits         []KeptCommit `json:"commits,omitempty"`
}

// KeptCommit is a transaction committed in kept data: its id, where its
// commit record is, and the commit time its record gives.
type KeptCommit struct {
	XID  uint64 `json:"xid"`
	LSN  string `json:"lsn"`
	Time string `json:"time"`
}

// MaxKeptCommits bounds the commits a kept record lists.
const MaxKeptCommits = 1000
