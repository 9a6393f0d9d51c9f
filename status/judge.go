package status

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/haup-project/haup/cluster"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// judge gives the cluster its verdict and reasons from the nodes' rows,
// critical ones first.
func judge(cs *ClusterStatus, opts Options) {
	var critical, degraded []string
	v := cs.View()
	primaries, holders := v.PrimaryNames(), v.VIPHolders
	sort.Strings(primaries)
	switch len(primaries) {
	case 0:
		msg := "no primary: no database answers as primary"
		for _, n := range cs.Nodes {
			p := n.Promotion
			switch {
			case p != nil && !p.Allowed && n.Role == nodeapi.RoleStandby:
				msg += fmt.Sprintf("; %s is not promoted automatically (%s): writes stay down until the primary returns, or `haup promote %s --accept-data-loss` (it may lack up to %d bytes and %.0f s of writes, or more where its gate could not tell)",
					n.Node, p.Reason, n.Node, p.LagBytes, p.WindowS)
			case p != nil && p.Allowed && n.Role == nodeapi.RoleStandby:
				msg += fmt.Sprintf("; %s's promotion gate allows its promotion (%s): if repmgrd does not promote it within seconds (it gives up when its own database was down as the primary was lost), `haup promote %s`",
					n.Node, p.Reason, n.Node)
			}
		}
		critical = append(critical, msg)
	case 1:
		cs.Primary = primaries[0]
	default:
		critical = append(critical, "split brain: "+strings.Join(primaries, " and ")+" are both primary")
	}
	switch {
	case len(holders) == 0:
		critical = append(critical, "no node holds the VIP "+cs.VIP)
	case len(holders) > 1:
		critical = append(critical, "two VIP holders: "+strings.Join(holders, " and "))
	case cs.Primary != "" && holders[0] != cs.Primary:
		critical = append(critical, fmt.Sprintf("the VIP is on %s, which is not the primary (%s)", holders[0], cs.Primary))
	case len(primaries) == 0:
		critical = append(critical, fmt.Sprintf("the VIP is on %s, which is not a primary", holders[0]))
	}
	versions := map[string][]string{}
	for _, n := range cs.Nodes {
		if n.TimescaleDB != "" || n.PostgreSQL != "" {
			v := "PostgreSQL " + n.PostgreSQL + ", TimescaleDB " + orDash(n.TimescaleDB)
			versions[v] = append(versions[v], n.Node)
		}
	}
	if len(versions) > 1 {
		var parts []string
		for v, nodes := range versions {
			parts = append(parts, strings.Join(nodes, ", ")+": "+v)
		}
		sort.Strings(parts)
		degraded = append(degraded, "versions differ between nodes ("+strings.Join(parts, "; ")+")")
	}
	for _, n := range cs.Nodes {
		if msg, crit := tlsProblem(n.Node, n.TLSCertificate); crit {
			critical = append(critical, msg)
		} else if msg != "" {
			degraded = append(degraded, msg)
		}
		degraded = append(degraded, imageUnsafe(n.Node, n.ImageFacts)...)
		if op := n.Operation; op != nil && (n.Lock == nil || n.Lock.Stale()) {
			degraded = append(degraded, fmt.Sprintf("%s: a %s %s -> %s did not end (interrupted at %q, %s, by %s): `haup diff` shows how `haup apply` finishes or undoes it",
				n.Node, op.Kind, op.From, op.To, op.Step, op.StepAt.Format("2006-01-02 15:04:05Z"), op.By))
		}
		if n.OperationError != "" {
			degraded = append(degraded, n.Node+": "+n.OperationError)
		}
		if a := n.Apply; a != nil && (n.Lock == nil || n.Lock.Stale()) {
			degraded = append(degraded, fmt.Sprintf("%s: a haup %s begun %s by %s did not end (at %q): `haup diff` shows what is left, `haup apply` finishes it",
				n.Node, a.Kind, a.StartedAt.Format("2006-01-02 15:04:05Z"), a.By, a.Step))
		}
		if n.HoldsVIP && n.Reachable && strings.HasPrefix(n.Keepalived, "not ") {
			critical = append(critical, fmt.Sprintf("%s carries the VIP but keepalived is %s: a stale address left by a killed keepalived; `haup apply` removes it and starts keepalived", n.Node, n.Keepalived))
		}
		if n.CheckNote != "" {
			if n.HoldsVIP {
				critical = append(critical, n.Node+" holds the VIP but "+n.CheckNote)
			} else {
				degraded = append(degraded, n.Node+": "+n.CheckNote)
			}
		}
		if n.Fence != nil {
			degraded = append(degraded, fmt.Sprintf("%s is fenced (%s): %s", n.Node, n.Fence.State, n.Fence.Reason))
		}
		if n.FailoverPaused && !cluster.InMaintenance(n.Pause, time.Now()) {
			when := "no resume is scheduled on the node: `haup apply` resumes it"
			switch {
			case n.Pause != nil && time.Now().After(n.Pause.Until.Add(time.Minute)):
				when = fmt.Sprintf("by %s at %s; its automatic resume was due at %s and has not happened (a reboot, or the database down for an hour): `haup apply` resumes it",
					cluster.PauseWho(n.Pause), n.Pause.At.Format("15:04:05Z"), n.Pause.Until.Format("15:04:05Z"))
			case n.Pause != nil:
				when = fmt.Sprintf("by %s at %s; it resumes by itself at %s, or at `haup apply`", cluster.PauseWho(n.Pause), n.Pause.At.Format("15:04:05Z"), n.Pause.Until.Format("15:04:05Z"))
			}
			degraded = append(degraded, n.Node+": repmgrd's automatic failover is paused ("+when+"): no failover if the primary is lost meanwhile")
		}
		if pc := n.PortClosed; pc != nil {
			what := fmt.Sprintf("%s: database port %d closed to other hosts by haup's fence since %s (%s)", n.Node, pc.Port, pc.At.Format("15:04:05Z"), pc.Reason)
			if n.Role == nodeapi.RolePrimary {
				critical = append(critical, what+", yet it answers as the primary: no client or standby reaches it")
			} else {
				degraded = append(degraded, what+"; it opens once the database answers as a standby")
			}
		}
		if n.RepmgrdNote != "" && n.Role == nodeapi.RoleStandby {
			degraded = append(degraded, n.Node+": "+n.RepmgrdNote)
		}
		if n.Role == nodeapi.RolePrimary && n.LastCheck != nil && n.LastCheck.Pass {
			word, rest, _ := strings.Cut(n.LastCheck.Sync, ": ")
			switch word {
			case nodeapi.SyncWaiting:
				critical = append(critical, n.Node+": writes wait (zero-loss mode): "+rest)
			case nodeapi.SyncSuspended:
				degraded = append(degraded, n.Node+": zero-loss mode suspended: "+rest)
			case "unknown":
				degraded = append(degraded, n.Node+": zero-loss mode unknown: "+rest)
			case nodeapi.SyncOn:
				cs.ZeroLoss = true
			}
		}
		switch {
		case !n.Reachable:
			degraded = append(degraded, n.Node+" is unreachable")
			continue
		case n.Role == RoleUnknown:
			degraded = append(degraded, n.Node+"'s database role is unknown: "+orDash(n.StatusError+n.Error))
		case n.Role == nodeapi.RoleDown:
			degraded = append(degraded, n.Node+"'s database is down")
		}
		if strings.HasPrefix(n.Keepalived, "not running") {
			degraded = append(degraded, n.Node+": keepalived is not running")
		}
		if n.Role != nodeapi.RoleStandby {
			continue
		}
		if !cluster.Streams(n.Role, n.Replication) {
			state := "stopped"
			if len(n.Replication) > 0 {
				state = n.Replication[0].State
			}
			degraded = append(degraded, fmt.Sprintf("%s: replication is %s", n.Node, state))
		} else if lag := n.Replication[0].LagSeconds; opts.MaxLag > 0 && lag > opts.MaxLag.Seconds() && n.Replication[0].LagBytes > 0 {
			degraded = append(degraded, fmt.Sprintf("%s: replication lags %.0f s (over %s)", n.Node, lag, opts.MaxLag))
		} else if p := n.Promotion; p == nil || !p.Allowed {
			// It streams, yet repmgrd would not promote it (the gate asks
			// the agent's record): one failure from an outage.
			why := "no promotion gate record (is its agent running?)"
			if p != nil {
				why = p.Code + ": " + strings.TrimPrefix(p.Reason, "promotion refused: ")
			}
			degraded = append(degraded, fmt.Sprintf("%s: its promotion gate refuses an automatic promotion (%s): if the primary is lost, writes stop until it returns or `haup promote %s --accept-data-loss`", n.Node, why, n.Node))
		}
	}
	// Degraded, not healthy with a note: a cluster that will not fail
	// over is one failure from an outage, and alerts should say so while
	// it lasts; the line says it is a maintenance, and until when.
	if cs.Maintenance = statusMaintenance(cs, time.Now()); cs.Maintenance != nil {
		degraded = append(degraded, cs.Maintenance.Line())
	}
	if w := cs.Witness; w != nil {
		const cost = ": repmgr will not promote the standby while the witness is gone (no majority), and a primary that also loses sight of its standby refuses writes"
		switch {
		case !w.Reachable:
			degraded = append(degraded, "witness "+w.Node+" is unreachable ("+orDash(w.Error)+")"+cost)
		case w.Container != "running":
			degraded = append(degraded, "witness "+w.Node+": container "+w.Container+cost)
		case w.Seen != "yes" && w.Seen != "unknown":
			degraded = append(degraded, "witness "+w.Node+": the primary's check does not reach its database ("+strings.TrimPrefix(w.Seen, "no: ")+")"+cost)
		case cs.Primary != "" && !w.Registered:
			degraded = append(degraded, "witness "+w.Node+" is not registered with repmgr (its container registers it when it starts)")
		}
	}
	switch {
	case len(critical) > 0:
		cs.Verdict, cs.Reasons = VerdictCritical, append(critical, degraded...)
	case len(degraded) > 0:
		cs.Verdict, cs.Reasons = VerdictDegraded, degraded
	default:
		cs.Verdict = VerdictHealthy
		standbys := len(cs.Nodes) - 1
		cs.Reasons = []string{fmt.Sprintf("%s is the primary and holds the VIP; %d standby streaming", cs.Primary, standbys)}
		if cs.ZeroLoss {
			cs.Reasons[0] += "; zero-loss mode on"
		}
		if cs.Witness != nil {
			cs.Reasons[0] += "; witness " + cs.Witness.Node + " seen"
		}
	}
}

// View is the view of what status read from each node.
func (cs *ClusterStatus) View() *cluster.View {
	vn := make([]cluster.ViewNode, len(cs.Nodes))
	for i, n := range cs.Nodes {
		vn[i] = cluster.ViewNode{Name: n.Node, Role: n.Role, Timeline: n.Timeline, HoldsVIP: n.HoldsVIP,
			Streaming: cluster.Streams(n.Role, n.Replication), Fenced: n.Fence != nil, Paused: n.FailoverPaused}
	}
	return cluster.NewView(vn)
}

// statusMaintenance is the cluster's maintenance as status sees it.
func statusMaintenance(cs *ClusterStatus, now time.Time) *cluster.Maintenance {
	return cs.View().Maintenance(func(i int) *nodeapi.PauseRecord { return cs.Nodes[i].Pause }, now)
}

// tlsProblem says what is wrong with a node's certificate, and whether it
// is critical (expired: clients, replication and the agent refuse it).
func tlsProblem(node string, c *TLSCertificate) (string, bool) {
	if c == nil {
		return "", false
	}
	fix := "`haup apply` installs a new one"
	if !c.Issued {
		fix = "give a new database.tls.cert_file and key_file, then `haup apply`"
	}
	switch {
	case c.Error != "":
		return fmt.Sprintf("%s: the database's TLS certificate cannot be read (%s): %s", node, c.Error, fix), false
	case c.DaysLeft < 0:
		return fmt.Sprintf("%s: the database's TLS certificate expired on %s: clients, replication and haup's agent refuse it; %s", node, c.NotAfter.Format("2006-01-02"), fix), true
	case c.DaysLeft < c.MinValidDays:
		return fmt.Sprintf("%s: the database's TLS certificate expires on %s, in %d days (fewer than min_valid_days, %d): %s", node, c.NotAfter.Format("2006-01-02"), c.DaysLeft, c.MinValidDays, fix), false
	}
	return "", false
}

// imageUnsafe names each setting of the database image, as it runs, that
// breaks one of haup's guarantees, with the fix. A container haup created
// has haup's settings; one created otherwise (adopted, or edited by hand)
// may not.
func imageUnsafe(node string, im *probe.ImageFacts) []string {
	if im == nil {
		return nil
	}
	const fix = "; `haup apply` recreates the container with haup's settings"
	var out []string
	if im.StartGate != "" {
		out = append(out, node+": the container's start is held by haup's start gate: "+im.StartGate+" (docs/concepts/promotion-gate.md)")
	}
	if !im.TmpInMemory {
		out = append(out, node+": the container's /tmp is not in memory: killed, it keeps repmgrd's pid file (pid 1), and repmgrd refuses to start again, for good"+fix)
	}
	if im.Error != "" {
		out = append(out, node+": the image's repmgr configuration could not be read: "+im.Error)
	}
	r := im.Repmgr
	if r == nil {
		return out
	}
	if v := r["degraded_monitoring_timeout"]; v != "-1" {
		out = append(out, fmt.Sprintf("%s: repmgrd exits after %s s of degraded monitoring (degraded_monitoring_timeout), and PostgreSQL dies with it (PID 1): a paused or isolated standby loses its database%s", node, orDash(v), fix))
	}
	if v := r["primary_visibility_consensus"]; v != "true" {
		out = append(out, fmt.Sprintf("%s: primary_visibility_consensus is %s: a witness does not veto the promotion of a standby that only it cut off%s", node, orDash(v), fix))
	}
	if v := r["use_replication_slots"]; v != "0" && v != "false" {
		out = append(out, fmt.Sprintf("%s: use_replication_slots is %s: a lost standby makes the primary keep WAL without bound%s", node, orDash(v), fix))
	}
	return out
}

// orDash is s, or "-" for nothing.
func orDash(s string) string { return cmp.Or(s, "-") }
