package cluster

import (
	"strings"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// InMaintenance reports whether rec is a maintenance pause that has not run
// out (a minute of grace for its timer): an overdue one is a pause whose
// resume failed, which apply resumes like any other.
func InMaintenance(rec *nodeapi.PauseRecord, now time.Time) bool {
	return rec.Maintenance() && now.Before(rec.Until.Add(time.Minute))
}

// Maintenance is a maintenance pause in force, as the nodes record it.
type Maintenance struct {
	// Paused are the nodes with the record; NotPaused the nodes whose
	// database answers that it is not paused (their repmgrd may promote).
	Paused    []string  `json:"paused"`
	NotPaused []string  `json:"not_paused,omitempty"`
	At        time.Time `json:"at"`
	// Until is the earliest of the nodes' own resumes.
	Until  time.Time `json:"until"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
}

// Line is the maintenance as status and the plan print it.
func (m *Maintenance) Line() string {
	s := "maintenance: automatic failover paused until " + m.Until.UTC().Format("2006-01-02 15:04:05Z") + " ("
	if m.Reason != "" {
		s += m.Reason + "; "
	}
	if m.By != "" {
		s += "by " + m.By + " "
	}
	s += "at " + m.At.UTC().Format("2006-01-02 15:04:05Z") + ") on " + strings.Join(m.Paused, ", ") +
		": if the primary is lost, no standby is promoted and writes stop until it returns; `haup resume` ends it sooner"
	if len(m.NotPaused) > 0 {
		s += "; NOT paused on " + strings.Join(m.NotPaused, ", ") + " (its repmgrd may promote): `haup pause` again"
	}
	return s
}

// Maintenance gathers the maintenance in force from each node's pause
// record (rec(i) is v.Nodes[i]'s, nil without one), its pause flag and
// whether its database answers; nil when no node is in maintenance.
func (v *View) Maintenance(rec func(i int) *nodeapi.PauseRecord, now time.Time) *Maintenance {
	nodes := v.Names()
	var m *Maintenance
	for i, n := range nodes {
		r := rec(i)
		if !InMaintenance(r, now) {
			continue
		}
		if m == nil {
			m = &Maintenance{At: r.At, Until: r.Until, Reason: r.Why, By: r.By}
		}
		m.Paused = append(m.Paused, n)
		if r.Until.Before(m.Until) {
			m.Until = r.Until
		}
		if r.At.After(m.At) {
			// The latest pause's words: a pause again replaces the earlier.
			m.At, m.Reason, m.By = r.At, r.Why, r.By
		}
	}
	if m == nil {
		return nil
	}
	for i, n := range nodes {
		if vn := v.Nodes[i]; vn.Up() && !vn.Paused {
			m.NotPaused = append(m.NotPaused, n)
			if InMaintenance(rec(i), now) {
				m.Paused = remove(m.Paused, n)
			}
		}
	}
	return m
}

func remove(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// PauseWho names who paused, for the lines about a left-over pause: a
// switchover's record says "switchover"; a maintenance pause (overdue, or
// not in force) says it was `haup pause`, why and by whom.
func PauseWho(rec *nodeapi.PauseRecord) string {
	if !rec.Maintenance() {
		return rec.Why
	}
	s := "haup pause"
	var parts []string
	for _, p := range []string{rec.Why, rec.By} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}
