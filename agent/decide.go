package agent

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timing constants of the rules.
const (
	// FailoverAfterS is how long repmgrd may go without reaching its
	// upstream before a failover counts as under way: one missed pass of
	// its monitoring loop at the default monitor_interval (1 s), whose
	// counter advances in whole seconds.
	FailoverAfterS = 2
	// PromotionPoll is how often a standby's check asks its database
	// whether it was promoted while a failover is under way; a watch with
	// less than this left is not begun.
	PromotionPoll = 50 * time.Millisecond
	// PromotedReserve is the part of the deadline kept for checking a node
	// promoted during the check as a primary: its own database and its
	// peers (a peer last seen on an older timeline is given 50 ms).
	PromotedReserve = 250 * time.Millisecond
	// isolationChecks is how many isolated runs in a row make a primary
	// refuse writes: one lost round of packets is not a partition.
	isolationChecks = 2
	// precedenceChecks is the count of passing runs as a primary newer
	// than every peer before the precedence is 1 (see decidePrecedence):
	// two more than keepalived's fall with haup's defaults. With a
	// database network cut, the promoted node's first passing check
	// fences the old VIP holder through the VIP (FenceVIPHolder); that
	// one's check fails from its next run and it leaves MASTER fall
	// checks later: at most 2 intervals after the promoted node's first
	// pass. At 3 the preemption raced that departure (a 100 ms sample with
	// two VIP holders in CI); at 4 it comes a whole interval after.
	precedenceChecks = 4
	// portLimit bounds the port fence's actions.
	portLimit = 2 * time.Second
)

// SyncNames is the value of synchronous_standby_names haup sets; haup
// resets only this value, so a setting of the operator's own is left alone.
const SyncNames = "ANY 1 (*)"

// Zero-loss verdicts, the first word of Decision.Sync.
const (
	SyncOn        = "on"
	SyncSuspended = "suspended"
	SyncWaiting   = "waiting"
	SyncOff       = "off"
)

// Decision is what Decide makes of one observation: the verdict, its
// reason, the actions, and the memory to keep once they succeeded. Settle
// folds the actions' outcomes in.
type Decision struct {
	Pass   bool
	Reason Reason
	// Notes follow the reason's message, in order.
	Notes []Note
	// Stale: this node is a superseded primary; Fenced: a fencing is in
	// force; Isolated: the isolation rule applies.
	Stale    *Stale
	Fenced   bool
	Isolated bool
	// Sync is the zero-loss verdict ("" when not managed this run).
	Sync string
	// Precedence is 0 or 1 once written (see decidePrecedence), or
	// HandoverPrecedence.
	Precedence int
	// Known is what the local database last said, for the report.
	Known *Known
	// Gate is the promotion gate's record to publish (a standby's; nil on
	// a primary and in runs that do not remember).
	Gate    *Gate
	Actions []Action
	// Memory is what to keep; Keep is false when the record must not be
	// written (it could not be read: it stays for repair).
	Memory Memory
	Keep   bool
}

// Message is the reason's message and the notes, in one line.
func (d Decision) Message() string {
	var b strings.Builder
	b.WriteString(d.Reason.Message)
	for _, n := range d.Notes {
		b.WriteString(n.Text)
	}
	return b.String()
}

// Codes lists the reason's code and the notes' codes.
func (d Decision) Codes() []Code {
	out := []Code{d.Reason.Code}
	for _, n := range d.Notes {
		if n.Text != "" {
			out = append(out, n.Code)
		}
	}
	return out
}

// Budget is the end of a run begun at begin: every action, together, ends
// by then. It is the check's deadline and 15% more: 92% of keepalived's
// timeout, so a run that observed until its deadline still answers
// keepalived in time.
func Budget(cfg Config, begin time.Time) time.Time {
	return begin.Add(time.Duration(cfg.DeadlineMillis) * time.Millisecond * 115 / 100)
}

func (d *Decision) act(a Action, note Code) {
	d.Actions = append(d.Actions, a)
	if note != "" {
		d.Notes = append(d.Notes, Note{Code: note, Action: len(d.Actions) - 1})
	}
}

func (d *Decision) note(code Code, text string) {
	d.Notes = append(d.Notes, Note{Code: code, Text: text, Action: -1})
}

// Decide is the agent's cycle, from the observation and the memory to the
// decision. The rules, in the order they apply:
//
//  1. verdict (Assess): the local database's answer and the peers'.
//  2. second look (obs.Promoted): promoted during this run, a passing
//     primary with peers that did not answer in the time left fails.
//  3. standby duties: a stuck repmgrd's connections reset; while a
//     failover is under way, a watch for the promotion.
//  4. fence in force: the node fails; a standby that streams clears it.
//  5. unreadable memory: the node fails, and nothing that needs the
//     memory is done.
//  6. isolation (with a witness): a primary that sees nobody refuses
//     writes from its second such run; writes come back once a standby
//     answers.
//  7. stale primary: fenced (writes refused, rejoin).
//  8. frozen stale primary (it does not answer, was last a primary, a peer
//     is a newer one): fenced from outside, its port closed; else a port
//     fence in force is kept (fenced, not a standby) or opened.
//  9. zero-loss mode, on a passing primary.
//  10. a passing primary without the VIP has its holder checked.
//  11. a pause of repmgrd's failover overdue by PauseGrace is ended.
//  12. precedence, and what to remember.
//  13. handover: a primary demoted for a switchover keeps the VIP at the
//     lowest priority until the target takes it (see decideHandover).
//
// Only keepalived's own runs (obs.Keepalived) act and remember; other runs
// get the verdict of rules 1, 4 and 5.
func Decide(cfg Config, obs Observation, mem Memory) Decision {
	v := Assess(cfg, obs.Local, obs.Peers, obs.Witness)
	d := Decision{Pass: v.Pass, Reason: v.Reason, Stale: v.Stale, Isolated: v.Isolated}
	bad := mem.Problem != ""
	known := mem.Known
	if mem.Boot != obs.Boot {
		known = nil
	}
	local := obs.Local

	if obs.Promoted {
		d.Reason.Message += fmt.Sprintf(" (promoted during this check, %d ms after it began)", obs.PromotedAfterMS)
		if u := unsettled(obs.Peers); d.Pass && len(u) > 0 {
			// Its peers had less than the whole deadline: one that did
			// not answer may be a primary as new as this one. The next
			// run, with its whole deadline, decides.
			d.Pass = false
			d.Reason.Code = CodeUnsettled
			d.Reason.Message += "; " + strings.Join(u, ", ") + " did not answer in the time left: the next check decides"
		}
	}
	if obs.Keepalived && local.Role == RoleStandby && !obs.Promoted {
		decideStandby(cfg, obs, &d)
	}
	if f := obs.Fence; f != nil {
		d.Fenced = true
		if d.Pass {
			d.Pass = false
			d.Reason = Reason{CodeFenced, "fenced since " + f.At.Format(time.RFC3339) + " (" + f.Reason + "): this node may not hold the VIP until it streams as a standby"}
		}
		if obs.Keepalived && local.Role == RoleStandby && obs.Streaming {
			d.act(Action{Kind: ActClearFence}, "")
		}
	}
	// A fencing's record keeps the report's reason so far, not the
	// memory's trouble.
	said := d.Message()
	if bad {
		d.Pass = false
		d.Reason = Reason{CodeMemoryUnreadable, fmt.Sprintf("agent memory %s unreadable (%s): the check fails until it is repaired or removed (removing it starts the agent's memory afresh); %s",
			cfg.MemoryPath, mem.Problem, d.Reason.Message)}
	}
	if !obs.Keepalived {
		return d
	}
	if bad {
		d.Memory = mem
		known = nil
		if local.Role != RolePrimary {
			d.Gate = &Gate{Version: GateVersion, Node: cfg.Node, Boot: obs.Boot, At: obs.Now.UTC(), Code: CodeMemoryUnreadable,
				Reason: "promotion refused: the agent's memory " + cfg.MemoryPath + " is unreadable (" + mem.Problem + ")"}
		}
	} else {
		d.Memory = mem.clone()
		d.Keep = true
		decideIsolation(cfg, obs, &d)
		decideEligibility(cfg, obs, &d)
	}
	planned := obs.Fence != nil
	if d.Stale != nil {
		// The record's reason is the report's so far: no action's outcome
		// precedes it (a stale primary is neither a standby nor isolated).
		d.act(Action{Kind: ActFenceStale, Stale: d.Stale, Reason: said, Limit: deadline(cfg)}, NoteFencedStale)
		d.Fenced, planned = true, true
	}
	if st := frozenStale(obs, known); st != nil {
		d.Stale, d.Fenced = st, true
		reason := fmt.Sprintf("stale primary on timeline %d, its database not answering, while %s is primary on timeline %d", known.Timeline, st.Peer, st.Timeline)
		d.act(Action{Kind: ActFenceFrozen, Stale: st, Known: known, Reason: reason, Limit: portLimit}, NoteFencedFrozen)
	} else if pf := obs.PortClosed; pf != nil {
		if local.Role == RoleStandby || !planned {
			d.act(Action{Kind: ActOpenPort, Limit: portLimit}, NotePortOpen)
		} else {
			// Still fenced: the rules stay (put back if they went).
			d.act(Action{Kind: ActClosePort, Reason: pf.Reason, Limit: portLimit}, NotePortKept)
			d.Pass = false
			d.note(NotePortClosed, "; port "+strconv.Itoa(cfg.Port)+" closed since "+pf.At.Format(time.RFC3339)+" ("+pf.Reason+")")
		}
	}
	if d.Pass {
		decideSync(cfg, obs, &d)
		if cfg.VIP && !obs.VIPHeld {
			d.act(Action{Kind: ActFenceVIPHolder}, "")
		}
	}
	p := 0
	if !bad {
		p = decidePrecedence(obs, &d)
		if local.Role != RoleDown {
			known = &Known{Role: local.Role, Timeline: local.Timeline, LSN: local.LSN, At: local.At}
		}
		d.Memory.Known, d.Memory.Boot = known, obs.Boot
	} else if local.Role != RoleDown {
		known = &Known{Role: local.Role, Timeline: local.Timeline, LSN: local.LSN, At: local.At}
	}
	d.Known = known
	decidePause(obs, &d)
	var note Code
	switch {
	case decideHandover(obs, bad, &d):
		p, note = HandoverPrecedence, NoteHandover
		d.Memory.Handover = true
	case bad:
		// Nothing is remembered this run (the record stays for repair):
		// the precedence written is 0, as for any unreadable memory.
	case d.Pass:
		d.Memory.Handover = false
	case d.Memory.Handover:
		// Its check fails now, but keepalived counts it as passing for
		// fall-1 more runs: at its own priority it would take the VIP
		// back from the target meanwhile. The lowest priority stays until
		// it passes again (in FAULT, the priority does not matter).
		p = HandoverPrecedence
	}
	d.act(Action{Kind: ActWritePrecedence, Precedence: p}, note)
	return d
}

// HandoverPrecedence is the precedence of a handover: keepalived's
// priority plus -253 is below 1, which keepalived raises to 1, the lowest
// priority a VRRP router in service can have (a value of -2 or less would
// put the instance in FAULT and give the VIP up).
const HandoverPrecedence = -1

// decideHandover: in a switchover, the old primary refuses writes, stops
// its database, and the target is promoted; until the target's check
// passes (up to a second later) and keepalived moves the VIP, the old
// primary's check fails and keepalived takes the VIP off it. A client
// connecting in that gap sends its SYN to an address nobody holds and
// waits for the kernel's retransmission (1 s) before it reaches the new
// primary. So the demoted primary passes, at the lowest priority
// (HandoverPrecedence), while its switchover's record is in force: it keeps
// the VIP, refuses connections at once (its database is read-only or
// stopped), and the target, at a higher priority, takes the VIP over as
// soon as its own check passes, without a moment with no holder. Never on
// a writable primary (the ordinary rules apply), a standby (the switchover
// has moved on), a fenced, stale, isolated or port-fenced node, or with an
// unreadable memory; never after the record's Until (a switchover that
// stalls or was killed gives the VIP up, as without a handover).
func decideHandover(obs Observation, bad bool, d *Decision) bool {
	h, local := obs.Handover, obs.Local
	if h == nil || !obs.Now.Before(h.Until) || bad || d.Pass || d.Fenced || d.Stale != nil || d.Isolated || obs.PortClosed != nil {
		return false
	}
	if local.Role != RoleDown && !(local.Role == RolePrimary && local.ReadOnly) {
		return false
	}
	d.Pass = true
	d.Reason = Reason{CodeHandover, fmt.Sprintf("switchover: demoted at %s, keeps the VIP at the lowest priority until the new primary takes it (at most until %s); %s",
		h.At.UTC().Format("15:04:05.000"), h.Until.UTC().Format("15:04:05.000"), d.Reason.Message)}
	return true
}

// decidePause ends a pause of repmgrd's failover that ran out PauseGrace
// ago: its timer should have resumed it and did not (lost at a reboot,
// failed, or still retrying a database that did not answer). Failover is
// then resumed as the pause's author asked, whatever the role.
func decidePause(obs Observation, d *Decision) {
	if p := obs.Pause; p != nil && obs.Now.After(p.Until.Add(PauseGrace)) {
		pause := *p
		d.act(Action{Kind: ActEndPause, Pause: &pause}, NotePauseEnded)
	}
}

// deadline is the check's deadline, which bounded some actions each.
func deadline(cfg Config) time.Duration {
	return time.Duration(cfg.DeadlineMillis) * time.Millisecond
}

// Verdict is the first rule's outcome.
type Verdict struct {
	Pass     bool
	Reason   Reason
	Stale    *Stale
	Isolated bool
}

// Assess is the rule of the verdict: this node passes only if its own
// database answers as a primary and no reachable peer is a primary on a
// newer timeline. A peer primary on the same timeline is ambiguous (two
// primaries that never saw each other's promotion), and then no node
// passes: with no VIP holder clients fail, but they never write to the
// wrong primary. An unreachable peer does not count against this node:
// that is exactly the case of a promoted standby whose old primary is gone.
// With a witness, a primary that sees neither a peer nor the witness is
// isolated and fails.
func Assess(cfg Config, local Local, peers []Peer, witness *Witness) Verdict {
	switch local.Role {
	case RoleDown:
		return Verdict{Reason: Reason{CodeLocalDown, "local database: " + local.Error}}
	case RoleStandby:
		return Verdict{Reason: Reason{CodeStandby, "local database is a standby (in recovery)"}}
	}
	for _, p := range peers {
		if p.Role != RolePrimary {
			continue
		}
		switch {
		case p.Timeline > local.Timeline:
			return Verdict{Stale: &Stale{Peer: p.Name, Timeline: p.Timeline},
				Reason: Reason{CodeStale, fmt.Sprintf("split brain: peer %s is a primary on newer timeline %d (ours %d); this primary is stale", p.Name, p.Timeline, local.Timeline)}}
		case p.Timeline == local.Timeline:
			return Verdict{Reason: Reason{CodeSplitBrain, fmt.Sprintf("split brain: peer %s is also a primary on timeline %d; neither may hold the VIP", p.Name, p.Timeline)}}
		}
	}
	if cfg.Witness != "" && witness != nil {
		visible := witness.Seen
		for _, p := range peers {
			visible = visible || p.Seen
		}
		if !visible {
			return Verdict{Isolated: true, Reason: Reason{CodeIsolated, fmt.Sprintf("isolated: primary on timeline %d sees neither its peers nor the witness %s on the network; it gives up the VIP and refuses writes", local.Timeline, cfg.Witness)}}
		}
	}
	if local.ReadOnly {
		return Verdict{Reason: Reason{CodeReadOnly, fmt.Sprintf("primary on timeline %d refuses writes (default_transaction_read_only is on): fenced", local.Timeline)}}
	}
	return Verdict{Pass: true, Reason: Reason{CodePrimary, fmt.Sprintf("primary on timeline %d", local.Timeline)}}
}

// unsettled names the peers that neither answered (if only to refuse) nor
// were last seen on an older timeline: their silence may only mean the
// time given was short.
func unsettled(peers []Peer) []string {
	var out []string
	for _, p := range peers {
		if p.Role == RoleDown && !p.Seen && !p.Older {
			out = append(out, p.Name)
		}
	}
	return out
}

// decideStandby is a standby's part of keepalived's run:
//   - a repmgrd stuck on a query to a primary that hung under it gets its
//     connections reset, from a missed pass on: one its server's host does
//     not even acknowledge is stuck from then on, one merely waiting from
//     RepmgrdStaleS;
//   - while a failover is under way, the run watches the database for the
//     promotion until PromotedReserve before the deadline (a streaming
//     standby's run costs no further connection).
func decideStandby(cfg Config, obs Observation, d *Decision) {
	if st := obs.Repmgrd; st != nil && cfg.RepmgrdStaleS > 0 && RepmgrdStuck(*st, min(cfg.RepmgrdStaleS, FailoverAfterS)) {
		d.act(Action{Kind: ActResetRepmgrd, IdleMS: cfg.RepmgrdStaleS * 1000, UnansweredMS: UnansweredAfterMS(cfg.RepmgrdStaleS),
			UpstreamLastSeenS: st.UpstreamLastSeenS, LimitS: cfg.RepmgrdStaleS, Until: obs.Begin.Add(deadline(cfg))}, NoteRepmgrdReset)
	}
	until := obs.Begin.Add(deadline(cfg) - PromotedReserve)
	if until.Sub(obs.Now) < PromotionPoll || (obs.Repmgrd != nil && !FailoverUnderWay(obs.Repmgrd.WALReceiver, obs.Repmgrd)) {
		return
	}
	d.act(Action{Kind: ActWatchPromotion, Until: until}, "")
}

// RepmgrdStuck says whether a standby's repmgrd should have its connections
// reset: it runs, failover is not paused (a paused repmgrd still checks,
// but nothing is to be gained), and it last reached its upstream at least
// staleAfter seconds ago (repmgr counts whole seconds). -1 (no repmgrd has
// reached it since the database started) is left alone.
func RepmgrdStuck(st Repmgrd, staleAfter int) bool {
	return staleAfter > 0 && st.Running && !st.Paused && st.UpstreamLastSeenS >= staleAfter
}

// FailoverUnderWay says whether a standby may be about to be promoted: its
// WAL receiver is not streaming, or its repmgrd has not reached the primary
// for FailoverAfterS or more (st nil: repmgrd's state unknown).
func FailoverUnderWay(walReceiver string, st *Repmgrd) bool {
	if walReceiver != "streaming" {
		return true
	}
	return st != nil && st.Running && st.UpstreamLastSeenS >= FailoverAfterS
}

// UnansweredAfterMS is how long a connection of repmgrd's whose server's
// host acknowledges nothing waits before it counts as stuck, for a
// RepmgrdStaleS of staleS: connect_timeout plus half a second at least, so
// a ping repmgrd is still setting up has ended; FailoverAfterS at least.
func UnansweredAfterMS(staleS int) int {
	return max(FailoverAfterS*1000, (staleS-2)*1000-500)
}

// decideIsolation: with a witness, a primary that can see neither its peer
// nor the witness fails at once (Assess) and, at its isolationChecks-th
// isolated run in a row, refuses writes. It is reversible: once a peer's
// database answers as a standby, writes are allowed again. A peer that
// answers as a newer primary makes this node stale instead (its fence
// takes over). The witness alone coming back is not enough: the standby
// may have been promoted meanwhile. Without a witness (never configured,
// or removed while isolated) a refusal is still lifted the same way.
func decideIsolation(cfg Config, obs Observation, d *Decision) {
	rec := d.Memory.Isolation
	if d.Isolated && cfg.Witness != "" {
		if rec == nil {
			rec = &Isolation{Since: obs.Now.UTC(), Timeline: obs.Local.Timeline}
		}
		rec.Checks++
		d.Memory.Isolation = rec
		switch {
		case !rec.Fenced && rec.Checks >= isolationChecks:
			d.act(Action{Kind: ActRefuseWrites, Limit: deadline(cfg)}, NoteIsolationFence)
		case rec.Fenced:
			d.note(NoteIsolationFence, "; writes refused since "+rec.FencedAt.Format(time.RFC3339))
		}
		return
	}
	if rec == nil {
		return
	}
	peerStandby := false
	for _, p := range obs.Peers {
		if p.Fault == FaultNone && p.Role == RoleStandby {
			peerStandby = true
		}
	}
	switch {
	case !rec.Fenced, d.Stale != nil, obs.Local.Role == RoleStandby:
		d.Memory.Isolation = nil
	case obs.Local.Role == RolePrimary && peerStandby:
		d.act(Action{Kind: ActLiftIsolation, Limit: deadline(cfg)}, NoteIsolationLifted)
	default:
		d.note(NoteIsolationKept, fmt.Sprintf("; writes refused since %s (isolated); they come back once a peer answers as a standby", rec.FencedAt.Format(time.RFC3339)))
	}
}

// frozenStale: a run whose local database did not answer in time finds
// this node a stale primary when the database was last seen primary on a
// timeline and a peer answers now as a primary on a newer one. A database
// that refuses connections is down, not frozen: nobody can write to it,
// and the ordinary path fences it when it is back.
func frozenStale(obs Observation, k *Known) *Stale {
	if obs.Local.Role != RoleDown || obs.Local.Fault != FaultTimeout || k == nil || k.Role != RolePrimary || k.Timeline <= 0 {
		return nil
	}
	for _, p := range obs.Peers {
		if p.Fault == FaultNone && p.Role == RolePrimary && p.Timeline > k.Timeline {
			return &Stale{Peer: p.Name, Timeline: p.Timeline}
		}
	}
	return nil
}

// decideSync is zero-loss mode, on a passing primary, at every run:
//   - a standby streams: commits wait until it has flushed them, so a
//     failover to it loses no acknowledged write ("on");
//   - no standby has streamed from this primary on its timeline: none can
//     hold writes it acknowledged; commits are asynchronous ("suspended");
//   - the standby streamed, and now does not, but answers: it cannot be
//     promoted while this primary is visible to it ("suspended");
//   - the standby streamed and now does not answer at all: it may be dead,
//     or cut off and about to be promoted; commits wait ("waiting").
//
// Without zero-loss mode, haup's own setting is removed.
func decideSync(cfg Config, obs Observation, d *Decision) {
	names := obs.Local.SyncNames
	if !cfg.Synchronous {
		d.Sync = SyncOff
		if names == SyncNames {
			d.act(Action{Kind: ActSetSync, Names: "", Verdict: SyncOff, Sync: d.Memory.Sync}, "")
		}
		return
	}
	st := SyncMemory{Timeline: obs.Local.Timeline}
	if m := d.Memory.Sync; m != nil && m.Timeline == obs.Local.Timeline {
		st = *m
	}
	want, verdict := "", ""
	switch {
	case obs.Local.Streaming > 0:
		st.StandbySeen, st.Answering = true, 0
		want, verdict = SyncNames, SyncOn+": commits wait until a standby has them"
	case !st.StandbySeen:
		verdict = SyncSuspended + ": no standby has streamed from this primary on timeline " + strconv.Itoa(obs.Local.Timeline) + "; commits are asynchronous until one does"
	default:
		var answering, silent []string
		for _, p := range obs.Peers {
			switch p.Fault {
			case FaultNone:
				answering = append(answering, p.Name+" "+string(p.Role))
			case FaultRefused:
				answering = append(answering, p.Name+" database down")
			default:
				silent = append(silent, p.Name)
			}
		}
		switch {
		case len(silent) == 0 && st.Answering+1 >= SuspendAfterRuns:
			st.Answering = SuspendAfterRuns
			verdict = SyncSuspended + ": the standby does not stream but answers (" + strings.Join(answering, ", ") + "), so its gate refuses its promotion; commits are asynchronous until it streams"
		case len(silent) == 0:
			st.Answering++
			want = SyncNames
			verdict = SyncWaiting + ": the standby answers without streaming (" + strings.Join(answering, ", ") + "); commits wait, and from its " + strconv.Itoa(SuspendAfterRuns) + "rd check in a row go through without it (its promotion gate has seen it by then)"
		default:
			st.Answering = 0
			want = SyncNames
			verdict = SyncWaiting + ": " + strings.Join(silent, ", ") + " streamed and does not answer: it may be cut off and promoted, so commits wait for it (database.synchronous: false lets them through)"
		}
	}
	if names != want && (want != "" || names == SyncNames) {
		// Sync is what it is once set; the record changes with it.
		d.act(Action{Kind: ActSetSync, Names: want, Verdict: verdict, Sync: &st}, "")
		return
	}
	d.Sync, d.Memory.Sync = verdict, &st
}

// decidePrecedence: which of two passing primaries keeps the VIP. Two
// nodes pass only when each is a primary that cannot reach the other's
// database (a standby promoted while PostgreSQL between the nodes is cut,
// VRRP still flowing). A passing primary whose timeline is newer than the
// last timeline it saw on every peer gets precedence 1 (keepalived adds
// weight 253), so it preempts the old primary; after precedenceChecks such
// runs in a row, so that in an ordinary failover the old primary has left
// MASTER by itself. It also records, per peer, the timeline it was last
// seen on and whether it went unanswered.
func decidePrecedence(obs Observation, d *Decision) int {
	peers := map[string]PeerMemory{}
	for k, v := range d.Memory.Peers {
		peers[k] = v
	}
	for _, p := range obs.Peers {
		m := peers[p.Name]
		answered := p.Fault == FaultNone && p.Timeline > 0 && (p.Role == RolePrimary || p.Role == RoleStandby)
		if answered {
			m.Timeline = p.Timeline
			m.Silent = false
		} else if p.Fault != FaultNone {
			m.Silent = true
		}
		if m != (PeerMemory{}) {
			peers[p.Name] = m
		}
	}
	local := obs.Local
	candidate := d.Pass && local.Role == RolePrimary && local.Timeline > 0
	for _, p := range obs.Peers {
		if peers[p.Name].Timeline >= local.Timeline {
			candidate = false
		}
	}
	if len(peers) == 0 {
		peers = nil
	}
	d.Memory.Peers = peers
	switch {
	case candidate && d.Memory.Passing < precedenceChecks:
		d.Memory.Passing++
	case !candidate:
		d.Memory.Passing = 0
	}
	if candidate && d.Memory.Passing >= precedenceChecks {
		return 1
	}
	return 0
}

// OlderPeers returns the timelines the peers were last seen on when every
// peer of names was last seen on a timeline older than timeline and went
// unanswered at the last run; else nil. Such peers cannot be a newer
// primary (they would have had to follow this node first), so the run
// need not wait for them (see healthcheck.Run).
func (m Memory) OlderPeers(names []string, timeline int) map[string]int {
	if len(names) == 0 || m.Problem != "" {
		return nil
	}
	out := map[string]int{}
	for _, n := range names {
		p := m.Peers[n]
		if p.Timeline <= 0 || p.Timeline >= timeline || !p.Silent {
			return nil
		}
		out[n] = p.Timeline
	}
	return out
}

func (m Memory) clone() Memory {
	c := m
	if m.Peers != nil {
		c.Peers = map[string]PeerMemory{}
		for k, v := range m.Peers {
			c.Peers[k] = v
		}
	}
	if m.Sync != nil {
		s := *m.Sync
		c.Sync = &s
	}
	if m.Isolation != nil {
		i := *m.Isolation
		c.Isolation = &i
	}
	if m.Known != nil {
		k := *m.Known
		c.Known = &k
	}
	return c
}
