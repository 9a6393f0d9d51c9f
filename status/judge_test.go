package status

import (
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

func streaming(lag float64) []nodeapi.Replication {
	return []nodeapi.Replication{{Peer: "10.0.0.1", State: "streaming", LagSeconds: lag, LagBytes: 100}}
}

func TestVerdicts(t *testing.T) {
	primary := NodeStatus{Node: "pg-0", Reachable: true, Keepalived: "MASTER", HoldsVIP: true, Role: "primary", Timeline: 2}
	standby := NodeStatus{Node: "pg-1", Reachable: true, Keepalived: "FAULT", Role: "standby", Timeline: 2, Replication: streaming(0), Promotion: gateAllows}
	with := func(n NodeStatus, f func(*NodeStatus)) NodeStatus { f(&n); return n }
	for _, tc := range []struct {
		name    string
		nodes   []NodeStatus
		verdict string
		reason  string
	}{
		{"healthy", []NodeStatus{primary, standby}, VerdictHealthy, "pg-0 is the primary and holds the VIP"},
		{"standby down", []NodeStatus{primary, with(standby, func(n *NodeStatus) { n.Role, n.Replication = "down", nil })}, VerdictDegraded, "pg-1's database is down"},
		{"standby unreachable", []NodeStatus{primary, {Node: "pg-1", Role: "down"}}, VerdictDegraded, "pg-1 is unreachable"},
		{"replication broken", []NodeStatus{primary, with(standby, func(n *NodeStatus) { n.Replication = nil })}, VerdictDegraded, "replication is stopped"},
		{"lag", []NodeStatus{primary, with(standby, func(n *NodeStatus) { n.Replication = streaming(120) })}, VerdictDegraded, "lags 120 s"},
		{"keepalived stopped", []NodeStatus{primary, with(standby, func(n *NodeStatus) { n.Keepalived = "not running (inactive)" })}, VerdictDegraded, "keepalived is not running"},
		{"no VIP holder", []NodeStatus{with(primary, func(n *NodeStatus) { n.HoldsVIP = false }), standby}, VerdictCritical, "no node holds the VIP"},
		{"VIP on standby", []NodeStatus{with(primary, func(n *NodeStatus) { n.HoldsVIP = false }), with(standby, func(n *NodeStatus) { n.HoldsVIP = true })}, VerdictCritical, "the VIP is on pg-1, which is not the primary (pg-0)"},
		{"two holders", []NodeStatus{primary, with(standby, func(n *NodeStatus) { n.HoldsVIP = true })}, VerdictCritical, "two VIP holders"},
		{"split brain", []NodeStatus{primary, with(standby, func(n *NodeStatus) { n.Role, n.Timeline = "primary", 3 })}, VerdictCritical, "split brain: pg-0 and pg-1 are both primary"},
		{"port closed on the primary", []NodeStatus{with(primary, func(n *NodeStatus) {
			n.PortClosed = &nodeapi.PortFence{Port: 5432, Reason: "stale"}
		}), standby}, VerdictCritical, "yet it answers as the primary: no client or standby reaches it"},
		{"no primary", []NodeStatus{with(primary, func(n *NodeStatus) { n.Role = "down" }), standby}, VerdictCritical, "no primary"},
	} {
		cs := &ClusterStatus{VIP: "10.0.0.100/24", Nodes: tc.nodes}
		judge(cs, Options{MaxLag: 30 * time.Second})
		reasons := strings.Join(cs.Reasons, "; ")
		if cs.Verdict != tc.verdict || !strings.Contains(reasons, tc.reason) {
			t.Errorf("%s: %s (%s), want %s with %q", tc.name, cs.Verdict, reasons, tc.verdict, tc.reason)
		}
		want := map[string]int{VerdictHealthy: 0, VerdictDegraded: 2, VerdictCritical: 3}[tc.verdict]
		if cs.ExitCode() != want {
			t.Errorf("%s: exit %d, want %d", tc.name, cs.ExitCode(), want)
		}
	}
}

// gateAllows is a healthy standby's promotion gate, as status shows it.
var gateAllows = &Promotion{Allowed: true, Code: "eligible", Reason: "promotion allowed: within max_lag_on_failover: 0 bytes behind, 0 s of writes at most"}
