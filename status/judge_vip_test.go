package status

import (
	"strings"
	"testing"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// TestStatusNamesAStaleVIP: a node that carries the VIP while its keepalived
// is not running is critical, named, with the command that repairs it.
func TestStatusNamesAStaleVIP(t *testing.T) {
	cs := &ClusterStatus{VIP: "10.0.0.100", Nodes: []NodeStatus{
		{Node: "pg-0", Reachable: true, Role: nodeapi.RoleStandby, HoldsVIP: true, Keepalived: "not running (failed)"},
		{Node: "pg-1", Reachable: true, Role: nodeapi.RolePrimary, HoldsVIP: true, Keepalived: "MASTER"},
	}}
	judge(cs, Options{})
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
		{Node: "pg-0", Reachable: true, Role: nodeapi.RolePrimary, HoldsVIP: true, Keepalived: "MASTER", Operation: op},
		{Node: "pg-1", Reachable: true, Role: nodeapi.RoleStandby, Keepalived: "FAULT"},
	}}
	judge(cs, Options{})
	joined := strings.Join(cs.Reasons, "\n")
	if cs.Verdict == "healthy" || !strings.Contains(joined, `pg-0: a switchover pg-0 -> pg-1 did not end (interrupted at "stop the old primary's database"`) {
		t.Errorf("verdict %s, reasons:\n%s", cs.Verdict, joined)
	}
}

// TestStatusNamesTheImagesUnsafeSettings: a container running with the
// image's defaults (not haup's) is degraded, each setting named with the fix;
// haup's settings are not.
func TestStatusNamesTheImagesUnsafeSettings(t *testing.T) {
	safe := &probe.ImageFacts{TmpInMemory: true, Repmgr: map[string]string{
		"degraded_monitoring_timeout": "-1", "primary_visibility_consensus": "true", "use_replication_slots": "0"}}
	if got := imageUnsafe("pg-0", safe); len(got) != 0 {
		t.Errorf("haup's settings reported unsafe: %v", got)
	}
	if got := imageUnsafe("pg-0", nil); len(got) != 0 {
		t.Errorf("no facts (an older agent) reported unsafe: %v", got)
	}
	defaults := &probe.ImageFacts{Repmgr: map[string]string{
		"degraded_monitoring_timeout": "5", "primary_visibility_consensus": "false", "use_replication_slots": "1"}}
	got := strings.Join(imageUnsafe("pg-1", defaults), "\n")
	for _, want := range []string{
		"pg-1: the container's /tmp is not in memory",
		"pg-1: repmgrd exits after 5 s of degraded monitoring",
		"pg-1: primary_visibility_consensus is false",
		"pg-1: use_replication_slots is 1",
		"`haup apply` recreates the container",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
