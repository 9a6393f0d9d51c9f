package status

import (
	"reflect"
	"testing"

	"github.com/haup-project/haup/cluster"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

// vf is a node's facts as the view reads them.
type vf = fixture.ViewFacts

// TestClusterViewOfStatus: status's rows give the same view as the facts
// they were read from.
func TestClusterViewOfStatus(t *testing.T) {
	inv := fixture.Example(t)
	nodes := []vf{{Role: nodeapi.RolePrimary, Timeline: 3, VIP: true}, {Role: nodeapi.RolePrimary, Timeline: 5, Paused: true},
		{Role: nodeapi.RoleStandby, Timeline: 5, Repl: "streaming", Fenced: true}}
	var nf []cluster.NodeFacts
	cs := &ClusterStatus{}
	for i, x := range nodes {
		n := inv.Nodes[i%len(inv.Nodes)]
		n.Name = []string{"a", "b", "c"}[i]
		f := x.Facts()
		nf = append(nf, cluster.NodeFacts{Node: n, Facts: f})
		cs.Nodes = append(cs.Nodes, nodeStatusFromFacts(inv, n, f))
	}
	cs.Nodes = append(cs.Nodes, NodeStatus{Node: "d", Role: RoleUnknown})
	nf = append(nf, cluster.NodeFacts{Node: inventory.Node{Name: "d"}, Facts: vf{}.Facts()})
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
