package tasks

import "fmt"

// A change's shape is what the plan's rules decided about it, as data: a
// container recreated in a rolling change, a password file staged for a
// rotation, a file moved by a TLS transition. The rules set it; compose
// writes the change's Summary and Blocked from it, here and nowhere else,
// so no rule edits another change's text and none finds a change by it.

// compose writes the change's Summary and Blocked from its shape, when it
// has one; a change without one keeps the words it was built with.
func (c *Change) compose() {
	switch {
	case c.container != nil:
		c.Summary, c.Blocked = c.container.summary(), c.container.blocker()
	case c.file != nil:
		c.Summary, c.Blocked = c.file.summary(), c.file.blocker()
	}
}

// compose composes every change of every host's plan.
func (p *Plan) compose() {
	for _, np := range p.All() {
		for i := range np.Changes {
			np.Changes[i].compose()
		}
	}
}

// containerRule is the shape of a change that recreates a node's container.
type containerRule struct {
	// what the recreation is for: new settings, a new image ID.
	what string
	// risk says that the container runs (riskPrimary) or may run
	// (riskMaybePrimary) the primary database; "" for a standby's.
	risk string
	// allowPrimary: --allow-primary-restart was given.
	allowPrimary bool
	// witness: the witness's container, which holds no data.
	witness bool
	// restart: a recreation with the same settings, to read repmgr's new
	// password (planRotation); a rolling change orders it like any other.
	restart bool
	// rollingTo, on the primary's container in a rolling change, names the
	// standby that takes the primary role before it (planRolling).
	rollingTo string
	// standbyFirst: a standby's container in a rolling change, before the
	// switchover (planRolling).
	standbyFirst bool
	// maintenance: a maintenance pause of failover rules out a rolling
	// change (maintenanceBlocksRolling); a blocked change says so.
	maintenance bool
}

// What a container change may risk.
const (
	riskPrimary      = "it runs the primary database"
	riskMaybePrimary = "it may run the primary database (its role could not be read)"
)

// restartWhat is what a container restart for a new repmgr password does.
const restartWhat = "recreate with the same settings, its database shut down cleanly first (the image then checks a standby with pg_rewind, no clone): read repmgr's new password"

func (r *containerRule) summary() string {
	if r.witness {
		return "recreate: its settings changed (the witness holds no data; failover needs it only while a node is lost)"
	}
	s := r.what
	// A rolling change says what it does for the primary itself.
	if r.risk != "" && (r.rollingTo == "" || r.risk != riskPrimary) {
		s += "; " + r.risk
	}
	if to := r.rollingTo; to != "" {
		s += fmt.Sprintf("; it runs the primary: a rolling change, after a switchover to %s (writes refused about 1-4 s, no acknowledged write lost), as %s's standby", to, to)
	}
	if r.standbyFirst {
		s += "; a standby, first: the primary keeps taking writes"
	}
	return s
}

func (r *containerRule) blocker() string {
	if r.risk == "" || r.allowPrimary || r.rollingTo != "" {
		return ""
	}
	why := r.risk + ": recreating it stops the primary; pass --allow-primary-restart to do so"
	if r.maintenance {
		why += "; no rolling change while automatic failover is paused for maintenance (its switchover would end the pause): `haup resume` first, or --allow-primary-restart restarts the primary in place (writes stop meanwhile, no failover)"
	}
	return why
}

// fileRule is the shape of a change of a file.
type fileRule struct {
	// what changes in the file, as fileChanges says it.
	what string
	// hba, for pg_hba.conf, says who may connect after the change and
	// what installing it costs.
	hba string
	// tls is the file's part in turning TLS on or off.
	tls tlsStep
	// password, on a file holding a database password that changes while
	// the database keeps the old one.
	password *passwordRule
}

// tlsStep is a file's part in turning database.tls on or off.
type tlsStep int

const (
	tlsNone tlsStep = iota
	// tlsRelaxFirst: pg_hba.conf stops requiring TLS before anything else.
	tlsRelaxFirst
	// tlsOffService: the service file keeps preferring TLS until the
	// container is recreated without it.
	tlsOffService
	// tlsAgentLast: the agent's configuration uses TLS after the
	// containers serve it.
	tlsAgentLast
)

// tlsNotes are what each step adds to a file change's summary.
var tlsNotes = map[tlsStep]string{
	tlsRelaxFirst: "; first: database.tls is turned off, clients may connect in clear text again before they do",
	tlsOffService: "; database.tls is turned off: until its container is recreated without TLS, it replicates from nodes that no longer serve it",
	tlsAgentLast:  "; after the containers: the agent connects with TLS once they serve it",
}

// passwordRule is the shape of a change of a database password's file:
// blocked (refused says why, or the default), or a rotation.
type passwordRule struct {
	refused  string
	rotation *rotation
}

// rotation is a password change staged beside the live file (planRotation).
type rotation struct {
	// staged is the path of the new password, beside the live file.
	staged string
	// restart: every container restarts to read it (repmgr's password).
	restart bool
}

// passwordBlocker is why a password changed only in its file is refused.
const passwordBlocker = "changing a database password only in the file would lock the health check and repmgr out " +
	"and take the VIP off every node"

func (r *fileRule) summary() string {
	if p := r.password; p != nil && p.rotation != nil {
		effect := "the health checks accept either meanwhile: no restart, no outage"
		if p.rotation.restart {
			effect = "then every container restarts in turn to read it (standbys first, then a switchover)"
		}
		return "content changed (sensitive content not shown); password rotation: the new password is staged beside it (" +
			p.rotation.staged + "), set inside the database on the primary, then moved into place; " + effect
	}
	s := r.what
	if r.hba != "" {
		s += "; " + r.hba
	}
	s += tlsNotes[r.tls]
	if r.password != nil {
		s += "; the database keeps the password it was created with"
	}
	return s
}

func (r *fileRule) blocker() string {
	switch p := r.password; {
	case p == nil || p.rotation != nil:
		return ""
	case p.refused != "":
		return p.refused
	}
	return passwordBlocker
}
