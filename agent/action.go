package agent

import (
	"fmt"
	"time"
)

// Kind is what an action does.
type Kind string

// The actions, in the order Decide lists them when several apply.
const (
	// ActResetRepmgrd resets the local repmgrd's connections to the peers
	// that waited IdleMS for their server (UnansweredMS for a host that
	// acknowledges nothing), and says so in the syslog.
	ActResetRepmgrd Kind = "reset-repmgrd"
	// ActWatchPromotion watches the standby's database until Until for its
	// promotion; when it sees it, the runner observes again and decides
	// anew (the rest of this decision is dropped).
	ActWatchPromotion Kind = "watch-promotion"
	// ActClearFence moves the fence record to its history (the node
	// streams as a standby).
	ActClearFence Kind = "clear-fence"
	// ActRefuseWrites is the isolation rule's step down: writes refused,
	// client sessions ended.
	ActRefuseWrites Kind = "refuse-writes"
	// ActLiftIsolation takes writes again (a standby answers).
	ActLiftIsolation Kind = "lift-isolation"
	// ActFenceStale records the fencing (Reason), refuses writes and
	// starts the rejoin unit.
	ActFenceStale Kind = "fence-stale"
	// ActFenceFrozen records the fencing of a primary whose database does
	// not answer, closes its port and starts the rejoin unit.
	ActFenceFrozen Kind = "fence-frozen"
	// ActOpenPort removes the port fence's rules, then its mark.
	ActOpenPort Kind = "open-port"
	// ActClosePort keeps the port closed (puts back rules that went).
	ActClosePort Kind = "close-port"
	// ActSetSync sets synchronous_standby_names to Names ("": reset).
	ActSetSync Kind = "set-sync"
	// ActFenceVIPHolder starts, detached, the fencing of a VIP holder that
	// is a primary on an older timeline.
	ActFenceVIPHolder Kind = "fence-vip-holder"
	// ActEndPause resumes repmgrd's failover whose pause (its record's At)
	// ran out PauseGrace ago and was not resumed by its timer, and removes
	// the record.
	ActEndPause Kind = "end-pause"
	// ActWritePrecedence writes Precedence to the file keepalived tracks
	// (when it differs).
	ActWritePrecedence Kind = "write-precedence"
)

// Action is one thing the runner does, with what it needs.
type Action struct {
	Kind Kind
	// Limit and Until bound the action, when set (the run's budget bounds
	// it too): it ends Limit after it began, and by Until. Until is
	// ActWatchPromotion's end.
	Limit time.Duration
	Until time.Time
	// Reason is the fence record's reason (ActFenceStale, ActFenceFrozen)
	// or the port fence's (ActClosePort).
	Reason string
	// Stale and Known: the newer primary and what the local database last
	// said (ActFenceFrozen; Stale for ActFenceStale too).
	Stale *Stale
	Known *Known
	// IdleMS and UnansweredMS: ActResetRepmgrd's limits; UpstreamLastSeenS
	// and LimitS for its message.
	IdleMS, UnansweredMS, UpstreamLastSeenS, LimitS int
	// Names is ActSetSync's value; Verdict the zero-loss verdict it makes
	// true, Sync the record to keep once it did.
	Names   string
	Verdict string
	Sync    *SyncMemory
	// Precedence is ActWritePrecedence's value.
	Precedence int
	// Pause is the pause ActEndPause ends.
	Pause *Pause
}

// String is the action as a plan line.
func (a Action) String() string {
	switch a.Kind {
	case ActSetSync:
		if a.Names == "" {
			return "reset synchronous_standby_names"
		}
		return fmt.Sprintf("set synchronous_standby_names = '%s'", a.Names)
	case ActWritePrecedence:
		return fmt.Sprintf("write precedence %d", a.Precedence)
	case ActWatchPromotion:
		return "watch for the promotion until " + a.Until.UTC().Format(time.RFC3339Nano)
	case ActEndPause:
		if a.Pause != nil {
			return "end the " + a.Pause.Kind + " pause of failover due at " + a.Pause.Until.UTC().Format(time.RFC3339)
		}
	}
	return string(a.Kind)
}

// Result is what came of an action.
type Result struct {
	// Err is its error's message ("" when it succeeded).
	Err string
	// Done: ActClearFence cleared the record; ActWatchPromotion saw the
	// promotion.
	Done bool
	// At is when it was done (ActRefuseWrites: since when writes are
	// refused).
	At time.Time
	// Reset are ActResetRepmgrd's connections reset, "local -> remote".
	Reset []string
}

// OK tells whether the action succeeded.
func (r Result) OK() bool { return r.Err == "" }
