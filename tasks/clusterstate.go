package tasks

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/haup-project/haup/cluster"
	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

// clusterChanges are the changes the cluster's actual state calls for, beyond
// files and containers: a stale or second primary, a fenced node or a
// standby that does not stream rejoins as a standby of the current primary;
// leftovers of interrupted applies are removed. Each names its consequence,
// so diff never says "in sync" while the cluster is not.
func clusterChanges(plan *Plan) {
	planRotation(plan)
	planRolling(plan)
	plan.compose()
	v := plan.View()
	newest, current := v.Newest, v.CurrentSorted()
	for _, np := range plan.Nodes {
		f := np.Facts
		vn, _ := v.Node(np.Node.Name)
		np.Changes = append(leftoverChanges(f), np.Changes...)
		// A maintenance pause is the operator's: only `haup resume` or its
		// own timer ends it (one overdue is resumed like any other).
		if vn.Paused && !cluster.InMaintenance(f.Database.Pause, time.Now()) {
			np.Changes = append(np.Changes, resumeFailoverChange(f.Database.Pause))
		}

		why := ""
		blocked := ""
		switch {
		case v.IsStale(vn.Name):
			why = fmt.Sprintf("stale primary on timeline %d while %s is primary on timeline %d; its writes after the fork are kept aside",
				vn.Timeline, strings.Join(current, ", "), newest)
		case vn.Role == nodeapi.RolePrimary && len(current) > 1:
			why = fmt.Sprintf("%s are all primary on timeline %d", strings.Join(current, " and "), newest)
			blocked = "two primaries on the same timeline: haup cannot tell which one holds the newest data; " +
				"compare them, then stop the container of the one to discard and re-run apply"
		case vn.Fenced && !vn.Streaming:
			why = fmt.Sprintf("fenced since %s (%s), state %s", f.Fence.At.Format("2006-01-02 15:04:05Z"), f.Fence.Reason, f.Fence.State)
			if f.Fence.Error != "" {
				why += ": " + f.Fence.Error
			}
		case vn.Role == nodeapi.RoleStandby && !vn.Streaming && len(current) == 1 && !settling(f):
			state := "stopped"
			if len(f.Database.Replication) > 0 && f.Database.Replication[0].State != "" {
				state = f.Database.Replication[0].State
			}
			why = fmt.Sprintf("standby does not stream (%s)", state)
		}
		if why == "" {
			if c, ok := downDatabaseChange(plan, np, current); ok {
				np.Changes = append(np.Changes, c)
			}
			continue
		}
		np.Changes = append(np.Changes, rejoinChange(plan, np, "", why, blocked, current))
	}
	forgetWitnesses(plan, current)
	interruptedOperations(plan)
	interruptedApplies(plan)
}

// forgetWitnesses plans the removal, from repmgr's metadata on the current
// primary, of every witness that is not the inventory's: a registered
// witness that is gone still counts in repmgr's elections, and with two
// nodes that leaves no majority, so the standby would never be promoted.
func forgetWitnesses(plan *Plan, current []string) {
	if len(current) != 1 {
		return
	}
	for _, np := range plan.Nodes {
		if np.Node.Name != current[0] || np.Facts.Database == nil {
			continue
		}
		for _, r := range np.Facts.Database.Repmgr {
			if r.Type != "witness" || r.Name == plan.Inventory.Witness.Name {
				continue
			}
			np.Changes = append(np.Changes, Change{
				Op: OpDelete, Kind: KindWitness, Name: r.Name,
				Summary: "unregister: it is not in the inventory, and while registered repmgr counts it in every election " +
					"(gone, it leaves the nodes without a majority: no automatic failover); stop its container on its host too, haup no longer manages it",
				stage: StageService,
				task:  ExecStep{"unregister witness " + r.Name, shq(nodeapi.BinaryPath) + " forget-witness " + shq(r.Name) + "\n"},
			})
		}
	}
}

// resumeFailoverChange resumes repmgrd's failover that a switchover paused
// and did not resume (it was killed, and the node's own timer has not run or
// could not reach the database).
func resumeFailoverChange(rec *nodeapi.PauseRecord) Change {
	since := "no record of the pause on the node"
	if rec != nil {
		since = fmt.Sprintf("paused at %s (%s), its own resume due at %s", rec.At.Format("2006-01-02 15:04:05Z"), cluster.PauseWho(rec), rec.Until.Format("15:04:05Z"))
	}
	return Change{Op: OpUpdate, Kind: KindRepmgrd, Name: "failover",
		Summary: "resume automatic failover: " + since + "; while paused, repmgrd promotes no standby if the primary is lost",
		stage:   StageService,
		task:    ExecStep{"resume repmgrd's failover", shq(nodeapi.BinaryPath) + " resume-failover -wait 30s\n"}}
}

// leftoverChanges removes what interrupted applies left on a host.
func leftoverChanges(f *Facts) []Change {
	var out []Change
	for _, s := range f.Staging {
		out = append(out, Change{Op: OpDelete, Kind: KindStaging, Name: s,
			Summary: "left by an interrupted apply (may hold secrets): remove",
			// rm -rf: staging directories; a .haup-new file is a file.
			stage: StageHost, task: ExecStep{"remove staging", "rm -rf " + shq(s) + "\n"}})
	}
	return out
}

// rejoinChange brings np's node back as a standby of the current primary
// through the haup-rejoin unit on the node. Its summary says lead first,
// when there is one.
func rejoinChange(plan *Plan, np *NodePlan, lead, why, blocked string, current []string) Change {
	target := "the current primary"
	if len(current) == 1 {
		target = current[0]
	}
	return Change{
		Op: OpReplace, Kind: KindDatabase, Name: np.Node.Name,
		Summary: leading(lead, fmt.Sprintf("rejoin as a standby of %s: %s; stops this database, keeps its data directory in %s.diverged-<time>, clones from %s, and waits until its repmgrd watches it; the primary keeps taking writes",
			target, why, np.Node.Name+":"+plan.Inventory.Database.DataDir, target)),
		Blocked: blocked,
		stage:   StageRejoin,
		task:    Rejoin{Addr: desired.DBAddress(np.Node), Repmgr: plan.Inventory.Database.Repmgr},
	}
}

// followChange is a rejoin that tries, first, to start the node as a
// standby of primary on the data it has, and falls back to clone (its data
// kept aside) when it does not stream within 45 s. Its summary says lead
// first, when there is one.
func followChange(plan *Plan, np *NodePlan, lead, primary string) Change {
	inv := plan.Inventory
	var target inventory.Node
	for _, n := range inv.Nodes {
		if n.Name == primary {
			target = n
		}
	}
	conninfo := followConninfo(inv, target, np.Node.Name)
	return Change{
		Op: OpReplace, Kind: KindDatabase, Name: np.Node.Name,
		Summary: leading(lead, fmt.Sprintf("rejoin as a standby of %s: first on the data it has (its database stopped cleanly and started again as a standby of %s inside the running container, without the image's entrypoint: no clone if its WAL is part of %s's history), "+
			"and only if it does not stream within 45 s (or its container does not run: starting it would let the image re-sync the data alone), stop it, keep its data directory in %s.diverged-<time> and clone from %s; then it waits until its repmgrd watches %s; the primary keeps taking writes (--clone clones at once)",
			primary, primary, primary, np.Node.Name+":"+inv.Database.DataDir, primary, primary)),
		stage: StageRejoin,
		task:  Follow{Conninfo: conninfo, Clone: Rejoin{Addr: desired.DBAddress(np.Node), Repmgr: inv.Database.Repmgr}},
	}
}

// followConninfo is the connection a standby named app starts with to
// follow the primary's node.
func followConninfo(inv *inventory.Inventory, primary inventory.Node, app string) string {
	return fmt.Sprintf("host=%s port=%d user=repmgr application_name=%s connect_timeout=%d",
		desired.DBAddress(primary), inv.Database.Port, app, inv.Database.Repmgr.ConnectTimeout)
}

// leading is summary after lead and a colon, or summary alone.
func leading(lead, summary string) string {
	if lead == "" {
		return summary
	}
	return lead + ": " + summary
}

// RejoinPlan is the plan of `haup rejoin NODE`: the node's rejoin alone. It
// refuses the current primary, and a cluster without exactly one current
// primary to clone from.
func RejoinPlan(plan *Plan, node string) (*Plan, error) {
	return RejoinPlanWith(plan, node, false)
}

// RejoinPlanWith is RejoinPlan; unless clone, a node that is not a primary
// and not fenced first tries to follow the current primary on the data it
// has (a stopped or lagging standby whose WAL is part of the primary's
// history needs no clone), and is cloned only if it does not stream within
// 45 s.
func RejoinPlanWith(plan *Plan, node string, clone bool) (*Plan, error) {
	np := plan.nodePlan(node)
	v := plan.View()
	current := v.Current
	if np == nil {
		return nil, fmt.Errorf("no node %q in the inventory", node)
	}
	if len(current) != 1 {
		return nil, fmt.Errorf("refusing: the cluster has %d current primaries (%s), a rejoin needs exactly one to clone from", len(current), strings.Join(current, ", "))
	}
	if current[0] == node {
		return nil, fmt.Errorf("refusing: %s is the current primary; a rejoin would stop it (use a switchover first)", node)
	}
	why := "asked for by haup rejoin"
	vn, _ := v.Node(node)
	if vn.Streaming {
		why = "asked for by haup rejoin (it streams now: its data is cloned again)"
	}
	one := &NodePlan{Node: np.Node, Facts: np.Facts, Resources: 1}
	var ch Change
	switch {
	case clone || vn.Fenced || vn.Role == nodeapi.RolePrimary:
		ch = rejoinChange(plan, one, "", why, "", current)
	case !np.Facts.Container.Running():
		// The image re-syncs a standby's data directory at every start of
		// its container (repmgr standby clone, or pg_rewind that cannot
		// run on a standby stopped without a shutdown checkpoint): the
		// plan says so, and the data is kept aside before.
		ch = rejoinChange(plan, one, "its container is not running, and the image clones a standby again whenever its container starts", why, "", current)
	default:
		ch = followChange(plan, np, "", current[0])
	}
	one.Changes = []Change{ch}
	out := &Plan{Inventory: plan.Inventory}
	for _, n := range plan.Nodes {
		if n == np {
			out.Nodes = append(out.Nodes, one)
		} else {
			out.Nodes = append(out.Nodes, &NodePlan{Node: n.Node, Facts: n.Facts})
		}
	}
	return out, nil
}

// planRolling turns a change of the primary's container into a rolling
// change when the cluster can take it: exactly one primary, holding the VIP,
// and a streaming standby. The standbys' containers go first, then a
// switchover to a standby, then the old primary's container, as a standby:
// one switchover's write outage instead of a failover (or two).
func planRolling(plan *Plan) {
	if maintenanceBlocksRolling(plan) {
		return
	}
	v := plan.View()
	var target *NodePlan
	for _, name := range v.StreamingUnfenced() {
		// Prefer a standby that gets the new container too.
		if np := plan.nodePlan(name); target == nil || np.hasStage(StageContainer) && !target.hasStage(StageContainer) {
			target = np
		}
	}
	p, ok := v.OnlyPrimary()
	if !ok || target == nil || !p.HoldsVIP || p.Fenced {
		return
	}
	primary := plan.nodePlan(p.Name)
	r := primary.recreation()
	if r == nil {
		return
	}
	r.rollingTo = target.Node.Name
	for _, np := range plan.Nodes {
		if o := np.recreation(); np != primary && o != nil {
			o.standbyFirst = true
		}
	}
}

// recreation is the shape of the change that recreates the node's
// container, or nil when the plan does not recreate it.
func (n *NodePlan) recreation() *containerRule {
	for _, c := range n.Changes {
		if c.container != nil {
			return c.container
		}
	}
	return nil
}

// planRotation turns a change of a database password on a live cluster into
// a rotation that locks nobody out: the new password is staged beside the
// live file on every node (.next), set inside the database on the primary
// (replicated to the standbys), then moved over the live file.
//
// postgres_password: haup-check tries the staged file when the live one is
// refused, and the image reads the file only when it creates a database: no
// restart. repmgr_password: repmgr and the standbys' replication read it when
// the container starts, so every container is restarted in turn after the
// files are swapped, as a rolling change (standbys first, each streaming
// again, then a switchover; the old primary restarts as a standby in it).
func planRotation(plan *Plan) {
	rotateSecret(plan, desired.PostgresSecretPath, "postgres", plan.Inventory.Database.PostgresPassword.Value(), false)
	rotateSecret(plan, desired.RepmgrSecretPath, "repmgr", plan.Inventory.Database.RepmgrPassword.Value(), true)
}

func rotateSecret(plan *Plan, path, role, value string, restart bool) {
	v := plan.View()
	var rotating []*NodePlan
	for _, np := range plan.Nodes {
		if np.passwordChange(path) != nil {
			rotating = append(rotating, np)
		}
	}
	if len(rotating) == 0 {
		return
	}
	block := func(why string) {
		for _, np := range rotating {
			np.passwordChange(path).file.password.refused = why
		}
	}
	p, ok := v.OnlyPrimary()
	if !ok {
		block(fmt.Sprintf("a password rotation sets the password inside the database on the primary; the cluster has %d primaries: let it recover first", len(v.Primaries)))
		return
	}
	primary := plan.nodePlan(p.Name)
	streaming := len(v.StreamingUnfenced()) > 0
	if restart && planMaintenance(plan, time.Now()) != nil {
		block("rotating repmgr's password restarts every container in turn, the primary's after a switchover, which would end the maintenance pause of automatic failover: `haup resume` first")
		return
	}
	if restart && (!streaming || !p.HoldsVIP || p.Fenced) {
		block("rotating repmgr's password restarts every container in turn, the primary's after a switchover: that needs a streaming standby and the VIP on the primary")
		return
	}
	next := desired.File{Path: path + nodeapi.NextSuffix, Mode: 0o600, UID: desired.ImageUID, GID: desired.ImageUID, Content: []byte(value)}
	setFrom := path // the primary's live file already holds the new password
	for _, np := range rotating {
		c := np.passwordChange(path)
		c.file.password.rotation = &rotation{staged: next.Path, restart: restart}
		c.task = InstallFile{next}
		np.Changes = append(np.Changes, Change{Op: OpUpdate, Kind: KindPassword, Name: role,
			Summary: "move the staged password over " + path, stage: StageSwap,
			task: SwapPassword{Staged: next.Path, Live: path}})
		if np == primary {
			setFrom = next.Path
		}
	}
	primary.Changes = append(primary.Changes, Change{Op: OpUpdate, Kind: KindPassword, Name: role,
		Summary: "set inside the database: ALTER ROLE " + role + " with a SCRAM verifier computed on the node (the password is in no statement or log), replicated to the standbys",
		stage:   StagePassword,
		task:    SetPassword{Role: role, File: setFrom}})
	if restart {
		container := plan.Inventory.Database.ContainerName
		for _, np := range plan.Nodes {
			if np.hasStage(StageContainer) {
				continue // recreated anyway, which reads the file
			}
			// Recreated, not restarted: the image writes repmgr's .pgpass
			// into the container's own layer only when it is absent, so a
			// restarted container would keep the old password.
			np.Changes = append(np.Changes, Change{Op: OpUpdate, Kind: KindContainer, Name: container,
				stage: StageContainer, container: &containerRule{what: restartWhat, restart: true},
				task: RunContainer{Spec: desired.Container(plan.Inventory, np.Node), Replace: true}})
		}
	}
	for _, np := range plan.Nodes {
		sort.SliceStable(np.Changes, func(i, j int) bool { return np.Changes[i].stage < np.Changes[j].stage })
	}
}

// passwordChange is the node's change of the password file at path that
// the database would not follow (its shape has a passwordRule), or nil.
func (n *NodePlan) passwordChange(path string) *Change {
	for i, c := range n.Changes {
		if c.Name == path && c.file != nil && c.file.password != nil {
			return &n.Changes[i]
		}
	}
	return nil
}

// isStreaming reports whether a node's database is a standby that streams.
func isStreaming(f *Facts) bool {
	return f.Database != nil && cluster.Streams(f.Database.Role, f.Database.Replication)
}

// settled tells whether the node's container runs with the image's setup
// over: repmgrd is its PID 1. During the setup (a clone, initdb, a
// registration) the database stops and starts on its own.
func settled(f *Facts) bool {
	c := f.Container
	return c.Running() && c.ImageFacts != nil && c.ImageFacts.Init == "repmgrd"
}

// settling tells whether the image's setup still runs in the node's
// container (its PID 1 is known and not repmgrd): it stops and starts the
// database on its own meanwhile, so a standby that does not stream is not
// yet one to rejoin.
func settling(f *Facts) bool {
	c := f.Container
	return c.Running() && c.ImageFacts != nil && c.ImageFacts.Init != "" && c.ImageFacts.Init != "repmgrd"
}

// downDatabaseChange starts a database that is down inside its running
// container, the image's setup over. On the bitnami image that container
// stays up (repmgrd waits in degraded monitoring for good, as haup sets it),
// and nothing else starts the database again: with a current primary
// elsewhere it starts as that primary's standby on its own data (a clone,
// its data kept aside, only if it does not stream); with no primary at all
// it starts in the role its data has. A node in an interrupted operation
// is left to that operation's end.
func downDatabaseChange(plan *Plan, np *NodePlan, current []string) (Change, bool) {
	f := np.Facts
	if f.Role() != nodeapi.RoleDown || !settled(f) || f.Fence != nil || f.Operation != nil {
		return Change{}, false
	}
	why := "its database is down inside its running container, and nothing starts it again (the image's repmgrd only waits)"
	switch {
	case len(current) == 1 && current[0] != np.Node.Name:
		return followChange(plan, np, why, current[0]), true
	case len(current) == 0:
		agent := shq(nodeapi.BinaryPath)
		return Change{Op: OpUpdate, Kind: KindDatabase, Name: np.Node.Name,
			Summary: why + ", and no node is primary: start it inside its container on its own data, in the role its data has (a primary's comes back as the primary, a standby's as a standby)",
			stage:   StageRejoin,
			task:    ExecStep{"start the database", agent + " start-database -timeout 120s\n"},
		}, true
	}
	return Change{}, false
}
