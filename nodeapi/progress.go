package nodeapi

// CloneProgress is what `haup-check progress clone` prints for haup, on a
// node that clones: the base backups the current primary is sending, from
// its pg_stat_progress_basebackup (PostgreSQL 13 and later).
type CloneProgress struct {
	// Primary is the current primary's name.
	Primary string       `json:"primary,omitempty"`
	Backups []BaseBackup `json:"backups"`
	// Error says why nothing could be read (no primary answers, the view
	// could not be queried).
	Error string `json:"error,omitempty"`
}

// BaseBackup is one row of the primary's pg_stat_progress_basebackup.
type BaseBackup struct {
	PID int `json:"pid"`
	// Client is the address the backup is sent to (pg_stat_activity's
	// client_addr), empty when unknown.
	Client string `json:"client"`
	Phase  string `json:"phase"`
	// Total is the estimated size; nil when the primary does not estimate
	// it (pg_basebackup --no-estimate-size).
	Total    *int64 `json:"total,omitempty"`
	Streamed int64  `json:"streamed"`
}

// ReplayProgress is what `haup-check progress replay LSN` prints for haup,
// on a switchover's target: how far it is from the old primary's last WAL.
type ReplayProgress struct {
	// ReceiveLeft and ReplayLeft are the bytes from what this standby has
	// received and replayed to LSN (0 once there; -1 when not a standby).
	ReceiveLeft int64  `json:"receive_left"`
	ReplayLeft  int64  `json:"replay_left"`
	Error       string `json:"error,omitempty"`
}

// A WatchSample is one look at this node: does it hold the VIP, and what
// does its database accept. haup drill merges the samples of every node.
type WatchSample struct {
	// Seq numbers the samples of one watch from 1.
	Seq int `json:"seq"`
	// AtMS is when the sample was taken, in milliseconds since the Unix
	// epoch on this node's clock: the drill orders samples by it, so one
	// that reaches it late (buffered while the node's network was down)
	// is not taken for the present.
	AtMS int64 `json:"at_ms,omitempty"`
	// VIP: the VIP is on one of this node's interfaces.
	VIP bool `json:"vip"`
	// DB is "writable" (a primary taking writes), "blocked" (a primary in
	// zero-loss mode with no synchronous standby: commits wait), "read-only"
	// (a primary refusing writes: fenced or demoted), "cut-off" (a stale
	// primary whose port haup closed: no client reaches it), "standby", or
	// "unknown" (no answer within the sample's bound: down, frozen or
	// refusing connections).
	DB       string `json:"db"`
	Timeline int    `json:"tl,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Database states of a WatchSample.
const (
	DBWritable = "writable"
	DBBlocked  = "blocked"
	DBReadOnly = "read-only"
	DBStandby  = "standby"
	DBUnknown  = "unknown"
	// DBCutOff: a stale primary whose port haup closed (see healthcheck.ClosePort).
	DBCutOff = "cut-off"
)
