package tasks

import (
	"strings"
	"testing"

	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/probe"
)

// TestStatusNamesAStaleVIP: a node that carries the VIP while its keepalived
// is not running is critical, named, with the command that repairs it.
func TestStatusNamesAStaleVIP(t *testing.T) {
	cs := &ClusterStatus{VIP: "10.0.0.100", Nodes: []NodeStatus{
		{Node: "pg-0", Reachable: true, Role: healthcheck.RoleStandby, HoldsVIP: true, Keepalived: "not running (failed)"},
		{Node: "pg-1", Reachable: true, Role: healthcheck.RolePrimary, HoldsVIP: true, Keepalived: "MASTER"},
	}}
	judge(cs, StatusOptions{})
	if cs.Verdict != "critical" {
		t.Fatalf("verdict %q, want critical", cs.Verdict)
	}
	joined := strings.Join(cs.Reasons, "\n")
	if !strings.Contains(joined, "pg-0 carries the VIP but keepalived is not running (failed)") || !strings.Contains(joined, "haup apply") {
		t.Errorf("reasons do not name the stale VIP:\n%s", joined)
	}
}

// TestStatusNamesAnInterruptedOperation: a switchover's record left on a
// node without a live haup run holding it is named, with what to do.
func TestStatusNamesAnInterruptedOperation(t *testing.T) {
	op := &probe.Operation{Kind: "switchover", From: "pg-0", To: "pg-1", Step: probe.StepStop, By: "op@host pid 1"}
	cs := &ClusterStatus{VIP: "10.0.0.100", Nodes: []NodeStatus{
		{Node: "pg-0", Reachable: true, Role: healthcheck.RolePrimary, HoldsVIP: true, Keepalived: "MASTER", Operation: op},
		{Node: "pg-1", Reachable: true, Role: healthcheck.RoleStandby, Keepalived: "FAULT"},
	}}
	judge(cs, StatusOptions{})
	joined := strings.Join(cs.Reasons, "\n")
	if cs.Verdict == "healthy" || !strings.Contains(joined, `pg-0: a switchover pg-0 -> pg-1 did not end (interrupted at "stop the old primary's database"`) {
		t.Errorf("verdict %s, reasons:\n%s", cs.Verdict, joined)
	}
}
