package status

import (
	"testing"

	"github.com/haup-project/haup/nodeapi"
)

// TestLagCell: a standby's lag is the WAL it has yet to replay, with the
// replay delay only while there is some; an idle standby whose last
// transaction is old is "0 B", not late.
func TestLagCell(t *testing.T) {
	primary := func(rows ...nodeapi.Replication) NodeStatus {
		return NodeStatus{Node: "pg-0", Reachable: true, Role: nodeapi.RolePrimary, Replication: rows}
	}
	standby := func(r ...nodeapi.Replication) NodeStatus {
		return NodeStatus{Node: "pg-1", Address: "10.0.0.2", dbAddress: "10.1.0.2", Reachable: true, Role: nodeapi.RoleStandby, Replication: r}
	}
	streaming := func(bytes int64, secs float64) nodeapi.Replication {
		return nodeapi.Replication{Peer: "10.0.0.1", State: "streaming", LagBytes: bytes, LagSeconds: secs}
	}
	for _, tc := range []struct {
		name  string
		nodes []NodeStatus
		want  string
	}{
		{"idle standby", []NodeStatus{primary(), standby(streaming(0, 58))}, "0 B"},
		{"replaying", []NodeStatus{primary(), standby(streaming(3<<20, 4))}, "3 MiB, 4s"},
		{"replaying under a second", []NodeStatus{primary(), standby(streaming(1536, 0.2))}, "1.5 KiB"},
		{"behind as the primary sees it", []NodeStatus{primary(nodeapi.Replication{Peer: "10.1.0.2", State: "streaming", LagBytes: 800, LagSeconds: 2}), standby(streaming(0, 58))}, "800 B, 2s"},
		{"the primary's row for another standby", []NodeStatus{primary(nodeapi.Replication{Peer: "10.1.0.9", State: "streaming", LagBytes: 800}), standby(streaming(0, 58))}, "0 B"},
		{"long replay delay", []NodeStatus{primary(), standby(streaming(5<<30+1<<29, 125))}, "5.5 GiB, 2m5s"},
		{"not streaming", []NodeStatus{primary(), standby(nodeapi.Replication{State: "stopped"})}, "stopped"},
		{"no WAL receiver", []NodeStatus{primary(), standby()}, "not replicating"},
		{"the primary", []NodeStatus{standby(streaming(0, 0)), primary()}, "-"},
	} {
		cs := &ClusterStatus{Nodes: tc.nodes}
		if got := lagCell(cs, &cs.Nodes[1], false); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestUpstreamVersion(t *testing.T) {
	for deb, want := range map[string]string{"1:2.2.8-1": "2.2.8", "1:2.2.4-0.2build1": "2.2.4", "2.3.1": "2.3.1", "": ""} {
		if got := upstreamVersion(deb); got != want {
			t.Errorf("%q: %q, want %q", deb, got, want)
		}
	}
}
