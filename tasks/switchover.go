package tasks

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

// Switchover is a planned role change from the current primary to a
// streaming standby, checked against the cluster's facts.
type Switchover struct {
	From, To     *NodePlan
	LagBytes     int64
	CheckSeconds int
	// VIP is the virtual address the new primary takes over.
	VIP string
	// Inventory is the inventory the switchover was planned from.
	Inventory *inventory.Inventory
}

// PlanSwitchover checks that a switchover to node to (or, when empty, to the
// only standby) can lose no acknowledged write, and returns it. It refuses a
// cluster that is not healthy, with the reason.
func PlanSwitchover(plan *Plan, to string) (*Switchover, error) {
	// A target the inventory does not name is bad input, whatever the
	// cluster's state.
	if to != "" {
		var names []string
		found := false
		for _, n := range plan.Inventory.Nodes {
			names = append(names, n.Name)
			found = found || n.Name == to
		}
		if !found {
			return nil, fmt.Errorf("no node %q in the inventory (its database nodes: %s)", to, strings.Join(names, ", "))
		}
	}
	if m := planMaintenance(plan, time.Now()); m != nil {
		return nil, fmt.Errorf("refusing: %s; a switchover resumes repmgrd's failover when it ends, which would end the maintenance: `haup resume` first (and `haup pause` again after)", m.Line())
	}
	v := plan.View()
	if len(v.Fenced) > 0 {
		np := plan.nodePlan(v.Fenced[0])
		return nil, fmt.Errorf("refusing: %s is fenced (%s); let it rejoin first", np.Node.Name, np.Facts.Fence.State)
	}
	primary, ok := v.OnlyPrimary()
	holder, one := v.VIPHolder()
	switch {
	case !ok:
		return nil, fmt.Errorf("refusing: the cluster has %d primaries; a switchover needs exactly one", len(v.Primaries))
	case len(v.VIPHolders) == 0:
		return nil, fmt.Errorf("refusing: no node holds the VIP %s", plan.Inventory.Keepalived.VirtualIPAddress)
	case !one || holder != primary.Name:
		return nil, fmt.Errorf("refusing: the VIP is not on the primary %s alone", primary.Name)
	}
	from := plan.nodePlan(primary.Name)
	sw := &Switchover{From: from, CheckSeconds: plan.Inventory.Keepalived.Check.Interval, VIP: desired.VIPAddr(plan.Inventory), Inventory: plan.Inventory}
	if to == "" {
		// The target by default: the only other node (whatever its state,
		// which is checked below), else the only standby.
		var others []*NodePlan
		for _, np := range plan.Nodes {
			if np != from {
				others = append(others, np)
			}
		}
		switch {
		case len(others) == 1:
			to = others[0].Node.Name
		case len(v.Standbys) == 1:
			to = v.Standbys[0]
		default:
			return nil, fmt.Errorf("refusing: %d standbys; name the target with --to", len(v.Standbys))
		}
	}
	sw.To = plan.nodePlan(to)
	target, _ := v.Node(to)
	switch {
	case sw.To == nil:
		return nil, fmt.Errorf("no node %q in the inventory", to)
	case sw.To == sw.From:
		return nil, fmt.Errorf("refusing: %s is already the primary", to)
	case !target.Streaming:
		state := sw.To.Facts.Role()
		if state == "" {
			state = "unknown: " + sw.To.Facts.DatabaseError
		} else if state == nodeapi.RoleStandby {
			state = "a standby that does not stream"
		}
		return nil, fmt.Errorf("refusing: %s is not a streaming standby (%s)", to, state)
	}
	sw.LagBytes = sw.To.Facts.Database.Replication[0].LagBytes
	return sw, nil
}

// Print writes the switchover's plan with its consequences.
func (sw *Switchover) Print(w io.Writer) {
	from, to := sw.From.Node.Name, sw.To.Node.Name
	fmt.Fprintf(w, "Switchover %s -> %s (%s replays %d bytes behind now)\n", from, to, to, sw.LagBytes)
	steps := []string{
		fmt.Sprintf("%s: pause repmgrd's automatic failover (it would race the promotion below; it resumes by itself after %s if haup is interrupted)", strings.Join(sw.PauseNodes(), ", "), PauseFor),
		fmt.Sprintf("%s: refuse writes (client sessions ended, new transactions read-only); writes through the VIP fail from here. %s keeps the VIP at the lowest priority until step 6 (at most %d s), so new connections are refused at once rather than sent to an address nobody holds", from, from, int(nodeapi.HandoverFor.Seconds())),
		fmt.Sprintf("%s: stop its database cleanly inside the running container (a shutdown checkpoint, its last WAL sent to %s)", from, to),
		fmt.Sprintf("%s: wait until it has received and replayed all of %s's WAL (at most 30 s, else %s starts again and takes writes, and nothing else changes)", to, from, from),
		fmt.Sprintf("%s: promote (a new timeline), recorded in repmgr's metadata", to),
		fmt.Sprintf("the VIP moves to %s: its check passes (within one check interval, %d s) and it takes the VIP over from %s; writes succeed again", to, sw.CheckSeconds, from),
		fmt.Sprintf("%s: resume repmgrd's automatic failover", strings.Join(sw.PauseNodes(), ", ")),
		fmt.Sprintf("%s: start its database as a standby of %s inside the running container, without the image's entrypoint and without a clone (its WAL ends where %s's timeline begins); a full clone, its data kept aside, only if it does not stream within 60 s", from, to, to),
		fmt.Sprintf("%s: wait until its repmgrd watches %s (automatic failover armed again; at most %.0f s, else haup says so, and `haup status` shows it)", from, to, ArmTimeout.Seconds()),
	}
	for i, s := range steps {
		fmt.Fprintf(w, "  %d. %s\n", i+1, s)
	}
	fmt.Fprintf(w, "\nWrite outage: from step 2 to step 6, about 1-%d s. No acknowledged write is lost.\n", sw.CheckSeconds+2)
}

// PauseFor bounds a switchover's pause of repmgrd: longer than its steps
// up to the VIP move may take (stop 60 s, catch-up 30 s, promote and VIP 60 s
// each at most), and than an undo after them (2 min), with room to spare.
const PauseFor = 10 * time.Minute

// ArmTimeout bounds apply's wait for a standby's repmgrd to reach its
// upstream after its database started: a pass of repmgrd takes
// monitor_interval, then a ping bounded by connect_timeout, and the
// standby's check resets stuck connections after desired.RepmgrdStaleS; a
// minute is several of each.
const ArmTimeout = time.Minute

// FollowConninfo is the connection the old primary starts with as the new
// primary's standby.
func (sw *Switchover) FollowConninfo() string {
	return followConninfo(sw.Inventory, sw.To.Node, sw.From.Node.Name)
}

// PauseNodes are the nodes whose repmgrd could promote a standby while the
// old primary is stopped: every node but the old primary.
func (sw *Switchover) PauseNodes() []string {
	var out []string
	for _, n := range sw.Inventory.Nodes {
		if n.Name != sw.From.Node.Name {
			out = append(out, n.Name)
		}
	}
	return out
}
