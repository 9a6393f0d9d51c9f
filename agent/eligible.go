package agent

import (
	"fmt"
	"time"
)

// The promotion gate. A standby may be promoted automatically only when it
// may hold every write the primary acknowledged:
//
//   - zero-loss mode: it streamed, with the primary waiting for a standby
//     (synchronous_standby_names set), and had received everything the
//     primary had written when that was last confirmed; since then nothing
//     happened that could let the primary acknowledge a write without it:
//     its database did not go down, its WAL receiver did not stop or start
//     again while the primary answered, the agent did not stop observing,
//     the host did not restart. The primary suspends synchronous commit only
//     after SuspendAfterRuns runs that saw the standby answer without
//     streaming, so the standby's own runs see the same thing first.
//   - asynchronous mode: what it may lack is bounded by MaxLag: the bytes it
//     was behind when it last streamed with the primary answering, and the
//     seconds since, for as long as it has not streamed: a primary it cannot
//     see may be writing without it all the same (so the bound must exceed
//     the time repmgrd takes to notice a lost primary: the inventory checks
//     it).
//
// The agent publishes the gate's record at each keepalived run (Gate); the
// failover_validation_command haup gives repmgrd reads it (Gate.Allows), and
// so does the container's start gate before the image may start a standby's
// data as a primary.

// Gate codes: why a standby is not eligible.
const (
	GateEligible Code = "eligible"
	// GateNeverConfirmed: it has not been seen in sync (or streaming, in
	// asynchronous mode) since the record began.
	GateNeverConfirmed Code = "never-confirmed"
	// GateLocalDown: its database was down (the primary may have gone on
	// without it).
	GateLocalDown Code = "local-down"
	// GateOutOfSync: it did not stream while the primary answered.
	GateOutOfSync Code = "out-of-sync"
	// GateSuspended: the primary did not wait for standbys.
	GateSuspended Code = "suspended"
	// GateCatchingUp: it streams, and has not yet received what the primary
	// had written when it was last confirmed.
	GateCatchingUp Code = "catching-up"
	// GateNewSession: its WAL receiver started a new session (a gap the
	// agent may not have seen).
	GateNewSession Code = "new-session"
	// GateUnobserved: the agent did not observe for a while, or the host
	// restarted.
	GateUnobserved Code = "unobserved"
	// GateLagBytes, GateLagSeconds: asynchronous mode, beyond the bound.
	GateLagBytes   Code = "lag-bytes"
	GateLagSeconds Code = "lag-seconds"
	// GateStale: the gate's record is older than FreshFor (the agent does
	// not run), or of another boot.
	GateStale Code = "stale-record"
	// GateNoRecord: no record (never written, or unreadable).
	GateNoRecord Code = "no-record"
	// GateOverride: an operator accepted the loss (haup promote
	// --accept-data-loss).
	GateOverride Code = "accepted-data-loss"
)

// SuspendAfterRuns is how many of the primary's runs in a row must see the
// standby answer without streaming before zero-loss mode suspends
// synchronous commit. At 1 the primary could suspend, acknowledge writes and
// be lost before the standby's own run, one second apart at most, saw that
// it had stopped streaming while the primary lived; at 3 the standby's runs
// have seen it at least twice.
const SuspendAfterRuns = 3

// unobservedAfter is the gap between two of the agent's runs beyond which
// what happened between them is unknown (keepalived runs the check every
// second; a run lasts under one).
const unobservedAfter = 3 * time.Second

// GateFreshFor is how old the gate's record may be when it is read: the
// agent writes it every run, so an older one means the agent does not run.
const GateFreshFor = 3 * time.Second

// GateVersion is the gate record's schema version.
const GateVersion = 1

// MaxLag bounds what an asynchronous promotion may lose. Zero values are
// limits, not "none": the inventory's default is applied before.
type MaxLag struct {
	Bytes   int64 `json:"bytes"`
	Seconds int   `json:"seconds"`
}

// DefaultMaxLag is database.max_lag_on_failover's default: one WAL segment
// behind, and ten seconds of writes.
var DefaultMaxLag = MaxLag{Bytes: 16 << 20, Seconds: 10}

// Eligibility is a standby's state of the gate, kept in its published
// record (Gate.State), which the agent rewrites at every run: the runner
// reads the last one back into Observation.Gate.
type Eligibility struct {
	Eligible bool      `json:"eligible"`
	Code     Code      `json:"code"`
	Why      string    `json:"why,omitempty"`
	Since    time.Time `json:"since"`
	// Receiver is the WAL receiver's session last seen streaming.
	Receiver string `json:"receiver,omitempty"`
	// PendingLSN is the primary's position at the last run that confirmed
	// it in sync (zero-loss): once received, the standby holds every write
	// acknowledged before that run.
	PendingLSN string `json:"pending_lsn,omitempty"`
	// StreamedAt is the last run that saw it stream with the primary
	// answering, LagBytes how far behind it was then; PrimarySeenAt the
	// last run after that the primary answered (or the agent could not
	// tell) while it did not stream.
	StreamedAt    time.Time `json:"streamed_at,omitzero"`
	LagBytes      int64     `json:"lag_bytes,omitempty"`
	PrimarySeenAt time.Time `json:"primary_seen_at,omitzero"`
}

// Gate is the record the agent publishes for the promotion gate.
type Gate struct {
	Version  int       `json:"version"`
	Node     string    `json:"node"`
	Boot     string    `json:"boot"`
	At       time.Time `json:"at"`
	Mode     string    `json:"mode"`
	Eligible bool      `json:"eligible"`
	Code     Code      `json:"code"`
	Reason   string    `json:"reason"`
	Since    time.Time `json:"since"`
	// LagBytes and WindowS are what a promotion now may lose, as known:
	// bytes behind at the last streaming run, seconds of writes since.
	LagBytes int64   `json:"lag_bytes"`
	WindowS  float64 `json:"window_s"`
	MaxLag   *MaxLag `json:"max_lag,omitempty"`
	// State is what the next run starts from.
	State Eligibility `json:"state"`
}

// Override is an operator's acceptance of a promotion's loss, valid until
// Until.
type Override struct {
	Until  time.Time `json:"until"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// Allows says whether a promotion may go ahead at now, and why (a code and a
// message for repmgrd's log and haup status). A record of an earlier boot is
// old: the agent's first run after a boot finds the gap (GateUnobserved).
// The boot is not compared here: inside a container it may read another
// boot id than its host's (systemd-nspawn gives its guests their own).
func (g *Gate) Allows(now time.Time, o *Override) (bool, Code, string) {
	if o != nil && now.Before(o.Until) {
		return true, GateOverride, fmt.Sprintf("promotion allowed by %s until %s: %s", o.By, o.Until.UTC().Format(time.RFC3339), o.Reason)
	}
	if g == nil {
		return false, GateNoRecord, "no gate record: haup's agent has not observed this standby (is keepalived running?)"
	}
	if age := now.Sub(g.At); age > GateFreshFor || age < -GateFreshFor {
		return false, GateStale, fmt.Sprintf("the gate record is %.1f s old: haup's agent does not observe this standby (is keepalived running?)", age.Seconds())
	}
	return g.Eligible, g.Code, g.Reason
}

// decideEligibility is the promotion gate's rule, at each keepalived run:
// it updates the standby's record and publishes it (Decision.Gate). A
// primary keeps no record.
func decideEligibility(cfg Config, obs Observation, d *Decision) {
	local := obs.Local
	if local.Role == RolePrimary {
		return
	}
	now := obs.Now.UTC()
	var e Eligibility
	var last time.Time
	if g := obs.Gate; g != nil && g.Node == cfg.Node {
		e, last = g.State, g.At
		if g.Boot != obs.Boot {
			last = time.Unix(0, 0).UTC()
		}
	}
	set := func(ok bool, code Code, why string) {
		if e.Eligible != ok || e.Since.IsZero() {
			e.Since = now
		}
		e.Eligible, e.Code, e.Why = ok, code, why
	}
	if last.IsZero() {
		set(false, GateNeverConfirmed, "not yet confirmed")
	}
	if !last.IsZero() && now.Sub(last) > unobservedAfter {
		// Anything may have happened meanwhile; for the bound, the primary
		// may have written without this standby until now.
		e.PendingLSN, e.Receiver = "", ""
		e.PrimarySeenAt = now
		set(false, GateUnobserved, fmt.Sprintf("not observed from %s to %s (host restart, or the check did not run)", last.Format(time.RFC3339), now.Format(time.RFC3339)))
	}

	primary := livePrimary(obs.Peers)
	streaming := local.Role == RoleStandby && local.Receiver != ""
	switch {
	case local.Role != RoleStandby:
		e.PendingLSN, e.Receiver = "", ""
		if primary != nil || local.Role == RoleDown {
			e.PrimarySeenAt = now
		}
		set(false, GateLocalDown, "its database was down at "+now.Format(time.RFC3339))
	case !streaming:
		e.PendingLSN, e.Receiver = "", ""
		if primary != nil || !cfg.Synchronous {
			// Asynchronous mode: a primary this standby cannot see may be
			// writing all the same (a cut between them), so the time
			// without streaming counts, whatever the primary's answer.
			e.PrimarySeenAt = now
		}
		if primary != nil && cfg.Synchronous {
			set(false, GateOutOfSync, fmt.Sprintf("it did not stream at %s while %s answered as the primary", now.Format(time.RFC3339), primary.Name))
		}
		// Zero-loss mode, the primary silent: it may be lost (a failover)
		// or cut off from this standby, which is then cut off from it too,
		// and its commits wait: what was true stays true.
	default:
		newSession := e.Receiver != "" && e.Receiver != local.Receiver
		if newSession {
			e.PendingLSN = ""
			set(false, GateNewSession, "its WAL receiver started a new session at "+now.Format(time.RFC3339))
		}
		e.Receiver = local.Receiver
		if primary == nil {
			break
		}
		e.StreamedAt, e.PrimarySeenAt = now, time.Time{}
		e.LagBytes = 0
		if p, ok := ParseLSN(primary.LSN); ok {
			if r, ok := ParseLSN(local.ReceiveLSN); ok && p > r {
				e.LagBytes = int64(p - r)
			}
		}
		if !cfg.Synchronous {
			break
		}
		if primary.SyncNames == "" {
			e.PendingLSN = ""
			set(false, GateSuspended, fmt.Sprintf("%s did not wait for a standby at %s (zero-loss suspended)", primary.Name, now.Format(time.RFC3339)))
			break
		}
		if e.PendingLSN != "" && !newSession && lsnAtLeast(local.ReceiveLSN, e.PendingLSN) {
			set(true, GateEligible, fmt.Sprintf("in sync with %s: it holds every write acknowledged before %s", primary.Name, now.Add(-time.Second).Format(time.RFC3339)))
		} else if !e.Eligible && !newSession {
			set(false, GateCatchingUp, fmt.Sprintf("streaming from %s in sync, catching up with what it wrote while this standby was away", primary.Name))
		}
		e.PendingLSN = primary.LSN
	}
	if !cfg.Synchronous {
		asyncEligibility(cfg, &e, set)
	}
	d.Gate = gateOf(cfg, obs, e)
}

// asyncEligibility: within the bound or not, from the record.
func asyncEligibility(cfg Config, e *Eligibility, set func(bool, Code, string)) {
	if e.StreamedAt.IsZero() {
		if e.Code == "" || e.Code == GateNeverConfirmed {
			set(false, GateNeverConfirmed, "it has not streamed with the primary answering since the record began")
		}
		return
	}
	w := window(*e)
	switch {
	case e.LagBytes > cfg.MaxLag.Bytes:
		set(false, GateLagBytes, fmt.Sprintf("it was %d bytes behind when it last streamed (%s), over max_lag_on_failover's %d", e.LagBytes, e.StreamedAt.Format(time.RFC3339), cfg.MaxLag.Bytes))
	case w > time.Duration(cfg.MaxLag.Seconds)*time.Second:
		set(false, GateLagSeconds, fmt.Sprintf("the primary may have written without it for %.0f s (from %s), over max_lag_on_failover's %d s", w.Seconds(), e.StreamedAt.Format(time.RFC3339), cfg.MaxLag.Seconds))
	default:
		set(true, GateEligible, fmt.Sprintf("within max_lag_on_failover: %d bytes behind, %.0f s of writes at most", e.LagBytes, w.Seconds()))
	}
}

// window is how long the primary may have written without the standby.
func window(e Eligibility) time.Duration {
	if e.StreamedAt.IsZero() || !e.PrimarySeenAt.After(e.StreamedAt) {
		return 0
	}
	return e.PrimarySeenAt.Sub(e.StreamedAt)
}

func gateOf(cfg Config, obs Observation, e Eligibility) *Gate {
	g := &Gate{Version: GateVersion, Node: cfg.Node, Boot: obs.Boot, At: obs.Now.UTC(), Mode: "zero-loss",
		Eligible: e.Eligible, Code: e.Code, Reason: e.Why, Since: e.Since, LagBytes: e.LagBytes, WindowS: window(e).Seconds(), State: e}
	if !cfg.Synchronous {
		g.Mode = "async"
		m := cfg.MaxLag
		g.MaxLag = &m
	}
	if g.Reason == "" {
		g.Reason = string(g.Code)
	}
	g.Reason = "promotion " + map[bool]string{true: "allowed", false: "refused"}[g.Eligible] + ": " + g.Reason
	return g
}

// livePrimary is the peer that answered as a primary, if any.
func livePrimary(peers []Peer) *Peer {
	for i := range peers {
		if peers[i].Fault == FaultNone && peers[i].Role == RolePrimary {
			return &peers[i]
		}
	}
	return nil
}

// ParseLSN reads a PostgreSQL LSN ("16/B374D848").
func ParseLSN(s string) (uint64, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return 0, false
		}
	}
	var hi, lo uint32
	var rest string
	if n, _ := fmt.Sscanf(s+" .", "%X/%X %s", &hi, &lo, &rest); n != 3 || rest != "." {
		return 0, false
	}
	return uint64(hi)<<32 | uint64(lo), true
}

func lsnAtLeast(a, b string) bool {
	x, ok1 := ParseLSN(a)
	y, ok2 := ParseLSN(b)
	return ok1 && ok2 && x >= y
}
