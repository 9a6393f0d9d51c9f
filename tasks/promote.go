package tasks

import (
	"fmt"
	"io"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/status"
)

// PromoteDecision is what `haup promote` found and will do.
type PromoteDecision struct {
	Node, Old string
	// Allowed: the node's promotion gate allows it (no data loss known);
	// otherwise Estimate says what it may lack.
	Allowed  bool
	Gate     string
	Estimate string
}

// DecidePromote checks that node may be promoted by hand on the cluster cs
// reports: a standby that answers, with no primary anywhere. accept is
// --accept-data-loss, needed when its promotion gate refuses.
func DecidePromote(cs *status.ClusterStatus, node string, accept bool) (PromoteDecision, error) {
	d := PromoteDecision{Node: node}
	if ps := cs.View().Primaries; len(ps) > 0 {
		if ps[0].Name == node {
			return d, fmt.Errorf("refusing: %s is the primary already", node)
		}
		return d, fmt.Errorf("refusing: %s answers as a primary; promoting %s would make two (to move the primary role, use haup switchover --to %s)", ps[0].Name, node, node)
	}
	var target *status.NodeStatus
	for i := range cs.Nodes {
		if cs.Nodes[i].Node == node {
			target = &cs.Nodes[i]
		}
	}
	if target == nil {
		if cs.Witness != nil && cs.Witness.Node == node {
			return d, fmt.Errorf("refusing: %s is the witness, which holds no data", node)
		}
		return d, fmt.Errorf("no node %q in the inventory", node)
	}
	if !target.Reachable {
		return d, fmt.Errorf("refusing: %s cannot be reached (%s)", node, target.Error)
	}
	if target.Role != nodeapi.RoleStandby {
		return d, fmt.Errorf("refusing: %s's database does not answer as a standby (%s)", node, target.Role)
	}
	for _, r := range target.Repmgr {
		if r.Type == "primary" && r.Name != node {
			d.Old = r.Name
		}
	}
	if d.Old == "" {
		for _, n := range cs.Nodes {
			if n.Node != node {
				d.Old = n.Node
			}
		}
	}
	p := target.Promotion
	switch {
	case p == nil:
		d.Gate = "no promotion gate record: haup's agent has not observed " + node
		d.Estimate = "unknown: no record of how far behind it is"
	default:
		d.Allowed, d.Gate = p.Allowed, p.Reason
		d.Estimate = fmt.Sprintf("%d bytes behind when it last streamed, and up to %.0f s of writes made without it, as its gate knows (more where it could not tell: %s)", p.LagBytes, p.WindowS, p.Code)
	}
	if !d.Allowed && !accept {
		return d, fmt.Errorf("refusing: %s's promotion gate refuses it (%s); it may lack acknowledged writes: %s. Promote anyway with --accept-data-loss, or bring the old primary back", node, d.Gate, d.Estimate)
	}
	return d, nil
}

// Print writes the promotion's plan.
func (d PromoteDecision) Print(w io.Writer) {
	fmt.Fprintf(w, "%s\n", d.Node)
	fmt.Fprintf(w, "  ~ database %s: promoted to primary (pg_promote inside its container), repmgr's metadata updated (%s recorded as a standby), the image's primary lock written\n", d.Node, d.Old)
	fmt.Fprintf(w, "\nCost: keepalived moves the VIP to %s at its next check (about 1-3 s); writes resume there.\n", d.Node)
	if d.Allowed {
		fmt.Fprintf(w, "Data: its promotion gate allows it (%s): no acknowledged write is known to be missing.\n", d.Gate)
	} else {
		fmt.Fprintf(w, "Data loss accepted: %s may lack acknowledged writes: %s. Gate: %s.\n", d.Node, d.Estimate, d.Gate)
	}
	fmt.Fprintf(w, "When %s returns, its start gate keeps its data aside (DATA_DIR/diverged-<time>, listed by haup status) and it rejoins as a standby.\n", d.Old)
}
