package cluster

import (
	"sort"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// View is the cluster's roles as one computation sees them: who is
// primary and on which timeline, the newest timeline, the current
// primaries, the stale ones, who holds the VIP, which standbys stream,
// which nodes are fenced, paused, down or unknown. Plans, status,
// switchovers, rejoins, pauses (and the drill, through status) ask it
// instead of each deriving these rules again.
//
// Every list is in the order of the nodes given (the inventory's); a
// caller that prints a sorted list sorts it.
type View struct {
	// Nodes are every node, as given.
	Nodes []ViewNode
	// Primaries are the nodes whose database answers as primary, on any
	// timeline.
	Primaries []ViewNode
	// Newest is the newest timeline among the primaries, 0 with none.
	Newest int
	// Current are the primaries on the newest timeline; Stale the
	// primaries on an older one.
	Current []string
	Stale   []string
	// Standbys answer as standbys; Streaming are those whose replication
	// streams (fenced or not).
	Standbys  []string
	Streaming []string
	// VIPHolders are the nodes that carry the VIP.
	VIPHolders []string
	// Fenced have a fencing in force; Paused have repmgrd's automatic
	// failover paused (by a switchover or for maintenance).
	Fenced []string
	Paused []string
	// Down answer that their database is down; Unknown could not tell
	// their role (unreachable, or no answer from the database).
	Down    []string
	Unknown []string
}

// ViewNode is one node as the view sees it.
type ViewNode struct {
	Name string
	// Role is nodeapi's role, or "" (facts) or status.RoleUnknown when
	// not known.
	Role      string
	Timeline  int
	HoldsVIP  bool
	Streaming bool
	Fenced    bool
	Paused    bool
}

// Up tells whether the node's database answers (as primary or standby).
func (n ViewNode) Up() bool { return n.Role == nodeapi.RolePrimary || n.Role == nodeapi.RoleStandby }

// NodeFacts is a data node of the inventory with its facts.
type NodeFacts struct {
	Node  inventory.Node
	Facts *probe.Facts
}

// ViewOf computes the view from the nodes' facts.
func ViewOf(nodes []NodeFacts) *View {
	vn := make([]ViewNode, len(nodes))
	for i, n := range nodes {
		vn[i] = viewNodeOf(n.Node.Name, n.Facts)
	}
	return NewView(vn)
}

func viewNodeOf(name string, f *probe.Facts) ViewNode {
	if f == nil {
		// Not asked: nothing is known of it (its role unknown).
		return ViewNode{Name: name}
	}
	n := ViewNode{Name: name, Role: f.Role(), HoldsVIP: f.Iface.HoldsVIP, Fenced: f.Fence != nil}
	if db := f.Database; db != nil {
		n.Timeline, n.Paused = db.Timeline, db.FailoverPaused
		n.Streaming = Streams(db.Role, db.Replication)
	}
	return n
}

// Streams is the one rule of a streaming standby: a standby whose first
// replication row streams.
func Streams(role string, rep []nodeapi.Replication) bool {
	return role == nodeapi.RoleStandby && len(rep) > 0 && rep[0].State == "streaming"
}

// NewView computes the view from nodes already read (status's rows), in
// their order.
func NewView(nodes []ViewNode) *View {
	v := &View{Nodes: nodes}
	for _, n := range nodes {
		switch n.Role {
		case nodeapi.RolePrimary:
			v.Primaries = append(v.Primaries, n)
			v.Newest = max(v.Newest, n.Timeline)
		case nodeapi.RoleStandby:
			v.Standbys = append(v.Standbys, n.Name)
		case nodeapi.RoleDown:
			v.Down = append(v.Down, n.Name)
		default:
			v.Unknown = append(v.Unknown, n.Name)
		}
		if n.Streaming {
			v.Streaming = append(v.Streaming, n.Name)
		}
		if n.HoldsVIP {
			v.VIPHolders = append(v.VIPHolders, n.Name)
		}
		if n.Fenced {
			v.Fenced = append(v.Fenced, n.Name)
		}
		if n.Paused {
			v.Paused = append(v.Paused, n.Name)
		}
	}
	for _, p := range v.Primaries {
		if p.Timeline == v.Newest {
			v.Current = append(v.Current, p.Name)
		} else {
			v.Stale = append(v.Stale, p.Name)
		}
	}
	return v
}

// Node is the named node's entry (ok false when the view has none).
func (v *View) Node(name string) (ViewNode, bool) {
	for _, n := range v.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return ViewNode{}, false
}

// Names are the nodes' names, as given.
func (v *View) Names() []string {
	var out []string
	for _, n := range v.Nodes {
		out = append(out, n.Name)
	}
	return out
}

// PrimaryNames are the primaries' names, on any timeline.
func (v *View) PrimaryNames() []string {
	var out []string
	for _, p := range v.Primaries {
		out = append(out, p.Name)
	}
	return out
}

// OnlyPrimary is the one primary when exactly one node answers as primary
// (whatever its timeline: with two, neither is).
func (v *View) OnlyPrimary() (ViewNode, bool) {
	if len(v.Primaries) != 1 {
		return ViewNode{}, false
	}
	return v.Primaries[0], true
}

// CurrentPrimary is the current primary when exactly one primary is on the
// newest timeline (a stale primary on an older one does not count).
func (v *View) CurrentPrimary() (string, bool) {
	if len(v.Current) != 1 {
		return "", false
	}
	return v.Current[0], true
}

// CurrentSorted are the current primaries by name.
func (v *View) CurrentSorted() []string {
	return sortedCopy(v.Current)
}

// IsStale tells whether the node is a primary on an older timeline than
// the newest.
func (v *View) IsStale(name string) bool {
	for _, s := range v.Stale {
		if s == name {
			return true
		}
	}
	return false
}

// VIPHolder is the node that holds the VIP when exactly one does.
func (v *View) VIPHolder() (string, bool) {
	if len(v.VIPHolders) != 1 {
		return "", false
	}
	return v.VIPHolders[0], true
}

// StreamingUnfenced are the streaming standbys with no fencing in force:
// those a switchover may promote.
func (v *View) StreamingUnfenced() []string {
	var out []string
	for _, n := range v.Nodes {
		if n.Streaming && !n.Fenced {
			out = append(out, n.Name)
		}
	}
	return out
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
