package agent

import (
	"fmt"
	"strings"
	"time"
)

// Settle folds the actions' outcomes into the decision: results[i] is
// what came of d.Actions[i] (an action not carried out has no result, or
// the zero Result with Err set). It returns the decision as reported: the
// notes' texts, the zero-loss verdict, the precedence, the memory to keep.
func Settle(d Decision, results []Result) Decision {
	d.Notes = append([]Note(nil), d.Notes...)
	d.Memory = d.Memory.clone()
	text := map[int]string{}
	for i, a := range d.Actions {
		if i >= len(results) {
			break
		}
		r := results[i]
		switch a.Kind {
		case ActResetRepmgrd:
			if line := ResetLine(a, r); line != "" {
				text[i] = "; " + line
			}
		case ActClearFence:
			if r.Done {
				d.Fenced = false
			}
		case ActRefuseWrites:
			if r.OK() {
				if d.Memory.Isolation != nil {
					d.Memory.Isolation.Fenced, d.Memory.Isolation.FencedAt = true, r.At.UTC()
				}
				text[i] = "; writes refused since " + r.At.UTC().Format(time.RFC3339)
			} else {
				text[i] = "; refusing writes failed: " + r.Err
			}
		case ActLiftIsolation:
			if r.OK() {
				d.Memory.Isolation = nil
				text[i] = "; isolation over (a standby answers): writes allowed again"
			} else {
				text[i] = "; lifting the isolation fence: " + r.Err
			}
		case ActFenceStale:
			text[i] = outcome(r, "; fenced: writes refused, rejoin started", "; fencing: ")
		case ActFenceFrozen:
			text[i] = outcome(r, "; fenced from outside: its port closed, rejoin started", "; fencing: ")
		case ActOpenPort:
			text[i] = outcome(r, "", "; opening port: ")
		case ActClosePort:
			text[i] = outcome(r, "", "; port fence: ")
		case ActSetSync:
			if r.OK() {
				d.Sync, d.Memory.Sync = a.Verdict, a.Sync
			} else {
				d.Sync = "unknown: " + r.Err
			}
		case ActEndPause:
			if a.Pause != nil {
				due := a.Pause.Until.UTC().Format(time.RFC3339)
				if r.OK() {
					text[i] = "; failover paused (" + a.Pause.Kind + ") until " + due + " resumed by the agent: its timer had not"
				} else {
					text[i] = "; failover paused (" + a.Pause.Kind + ") until " + due + " and not resumed: " + r.Err
				}
			}
		case ActWritePrecedence:
			switch {
			case r.OK():
				d.Precedence = a.Precedence
			case a.Precedence == HandoverPrecedence:
				// At its own priority it could keep the VIP from the
				// target: no handover.
				d.Pass = false
				text[i] = "; handover failed, the VIP is given up: the lowest priority could not be written: " + r.Err
			}
		}
	}
	for i, n := range d.Notes {
		if n.Action >= 0 {
			d.Notes[i].Text = text[n.Action]
		}
	}
	return d
}

func outcome(r Result, ok, failed string) string {
	if r.OK() {
		return ok
	}
	return failed + r.Err
}

// ResetLine is what a reset of repmgrd's connections is said as, in the
// reason and the syslog: only when something was reset or failed (from a
// missed pass on, every run looks); "" otherwise.
func ResetLine(a Action, r Result) string {
	if len(r.Reset) == 0 && r.OK() {
		return ""
	}
	did := fmt.Sprintf("repmgrd last reached its upstream %d s ago (limit %d s, %.1f s for a host that does not acknowledge): %d of its connections to the other nodes' databases reset",
		a.UpstreamLastSeenS, a.LimitS, float64(a.UnansweredMS)/1000, len(r.Reset))
	var b strings.Builder
	b.WriteString(did)
	for _, s := range r.Reset {
		b.WriteString(" [" + s + "]")
	}
	if !r.OK() {
		b.WriteString(" (" + r.Err + ")")
	}
	return b.String()
}
