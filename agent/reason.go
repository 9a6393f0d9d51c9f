package agent

// Code is a reason's kind: what decisions and tests read. The message
// beside it is for people.
type Code string

// The verdict's codes.
const (
	// CodePrimary: the writable primary, no newer one seen: it passes.
	CodePrimary Code = "primary"
	// CodeLocalDown: the local database did not answer.
	CodeLocalDown Code = "local-down"
	// CodeStandby: the local database is a standby.
	CodeStandby Code = "standby"
	// CodeStale: a peer is a primary on a newer timeline.
	CodeStale Code = "stale"
	// CodeSplitBrain: a peer is a primary on the same timeline.
	CodeSplitBrain Code = "split-brain"
	// CodeIsolated: with a witness, the primary sees nobody.
	CodeIsolated Code = "isolated"
	// CodeReadOnly: the primary refuses writes (fenced).
	CodeReadOnly Code = "read-only"
	// CodeFenced: a fencing of this node is in force.
	CodeFenced Code = "fenced"
	// CodeUnsettled: promoted during the run, some peers did not answer in
	// the time left.
	CodeUnsettled Code = "unsettled"
	// CodeMemoryUnreadable: the memory record cannot be read.
	CodeMemoryUnreadable Code = "memory-unreadable"
	// CodeHandover: a primary demoted for a switchover keeps the VIP, at
	// the lowest priority, until the switchover's target takes it.
	CodeHandover Code = "handover"
)

// The notes' codes: what was found or done besides the verdict.
const (
	NoteRepmgrdReset    Code = "repmgrd-reset"
	NotePromoted        Code = "promoted"
	NoteIsolationFence  Code = "isolation-fence"
	NoteIsolationLifted Code = "isolation-lifted"
	NoteIsolationKept   Code = "isolation-kept"
	NoteFencedStale     Code = "fenced-stale"
	NoteFencedFrozen    Code = "fenced-frozen"
	NotePortOpen        Code = "port-open"
	NotePortKept        Code = "port-kept"
	NotePortClosed      Code = "port-closed"
	NoteMemoryWrite     Code = "memory-write"
	NotePauseEnded      Code = "pause-ended"
	// NoteHandover: a handover's lowest priority could not be written,
	// so the node gives the VIP up instead.
	NoteHandover Code = "handover-failed"
)

// Reason is the verdict's reason.
type Reason struct {
	Code    Code
	Message string
}

// Note is a part of the reason after the verdict's: a fact found, or the
// outcome of an action (Action >= 0: its index in Decision.Actions, and the
// text comes from its Result).
type Note struct {
	Code   Code
	Text   string
	Action int
}
