package status

import (
	"reflect"
	"testing"

	"github.com/haup-project/haup/cluster"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// vf builds a node's facts for the view's tests.
type vf struct {
	role     string // "" for no database answer
	timeline int
	vip      bool
	repl     string // first replication row's state, "" for none
	fenced   bool
	paused   bool
}

func (x vf) facts() *probe.Facts {
	f := &probe.Facts{Iface: probe.Iface{HoldsVIP: x.vip}}
	if x.role != "" {
		f.Database = &nodeapi.StatusReport{Report: nodeapi.Report{Role: x.role, Timeline: x.timeline}, FailoverPaused: x.paused}
		if x.repl != "" {
			f.Database.Replication = []nodeapi.Replication{{State: x.repl}}
		}
	} else {
		f.DatabaseError = "no answer"
	}
	if x.fenced {
		f.Fence = &nodeapi.FenceRecord{}
	}
	return f
}

// TestClusterViewOfStatus: status's rows give the same view as the facts
// they were read from.
func TestClusterViewOfStatus(t *testing.T) {
	inv := loadExample(t)
	nodes := []vf{{role: nodeapi.RolePrimary, timeline: 3, vip: true}, {role: nodeapi.RolePrimary, timeline: 5, paused: true},
		{role: nodeapi.RoleStandby, timeline: 5, repl: "streaming", fenced: true}}
	var nf []cluster.NodeFacts
	cs := &ClusterStatus{}
	for i, x := range nodes {
		n := inv.Nodes[i%len(inv.Nodes)]
		n.Name = []string{"a", "b", "c"}[i]
		f := x.facts()
		nf = append(nf, cluster.NodeFacts{Node: n, Facts: f})
		cs.Nodes = append(cs.Nodes, nodeStatusFromFacts(inv, n, f))
	}
	cs.Nodes = append(cs.Nodes, NodeStatus{Node: "d", Role: RoleUnknown})
	nf = append(nf, cluster.NodeFacts{Node: inventory.Node{Name: "d"}, Facts: vf{}.facts()})
	fromFacts, fromStatus := cluster.ViewOf(nf), cs.View()
	// Roles differ only in how "unknown" is spelled.
	for i := range fromStatus.Nodes {
		if fromStatus.Nodes[i].Role == RoleUnknown {
			fromStatus.Nodes[i].Role = ""
		}
	}
	if !reflect.DeepEqual(fromFacts, fromStatus) {
		t.Errorf("views differ:\nfacts  %+v\nstatus %+v", fromFacts, fromStatus)
	}
}
