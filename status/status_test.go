package status

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// TestStatusTellsUnknownFromDown: each way of not knowing a node's state
// reads as what it is, with its reason, never as "absent" or "down"; the
// table and JSON are golden.
func TestStatusTellsUnknownFromDown(t *testing.T) {
	inv := fixture.Example(t)
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	standby := func() *probe.Facts {
		f := runningFacts(nodeapi.RoleStandby)
		f.Keepalived.State = "FAULT"
		f.Database.Timeline = 2
		f.Database.Replication = []nodeapi.Replication{{Peer: "192.168.89.131", State: "streaming", LagBytes: 0}}
		f.LastCheck = &nodeapi.Report{Pass: false, Reason: "local database is a standby (in recovery)", At: at}
		f.LastCheckAgeS = 1
		f.Database.Repmgrd = &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: 0}
		return f
	}
	withRepmgrd := func(running bool, seen int) func() NodeStatus {
		return func() NodeStatus {
			f := standby()
			f.Database.Repmgrd = &nodeapi.RepmgrdState{Running: running, UpstreamLastSeenS: seen}
			return nodeStatusFromFacts(inv, inv.Nodes[1], f)
		}
	}
	cases := []struct {
		name string
		ns   func() NodeStatus
	}{
		{"ssh refused", func() NodeStatus {
			return NodeStatus{Node: "pg-1", Address: "192.168.89.133", Role: RoleUnknown, Keepalived: "unknown", Container: "unknown",
				Error: "ssh: dial tcp 192.168.89.133:22: connect: connection refused"}
		}},
		{"sudo refused", func() NodeStatus {
			h := remote.NewFake("pg-1").On("facts", func(string) (remote.Result, error) {
				return remote.Result{}, errors.New("user admin cannot run sudo without a password on 192.168.89.133: sudo: a password is required")
			})
			return NodeStatusOf(context.Background(), h, inv, inv.Nodes[1], nil)
		}},
		{"docker stopped", func() NodeStatus {
			f := standby()
			f.Docker, f.DockerError, f.Container = "", "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", nil
			f.Database = &nodeapi.StatusReport{Report: nodeapi.Report{Role: nodeapi.RoleDown, Reason: "local database: connection refused"}}
			return nodeStatusFromFacts(inv, inv.Nodes[1], f)
		}},
		{"database stopped", func() NodeStatus {
			f := standby()
			f.Container.Status = "exited"
			f.Database = &nodeapi.StatusReport{Report: nodeapi.Report{Role: nodeapi.RoleDown, Reason: "local database: connection refused"}}
			return nodeStatusFromFacts(inv, inv.Nodes[1], f)
		}},
		{"standby on newer timeline", func() NodeStatus {
			return nodeStatusFromFacts(inv, inv.Nodes[1], standby())
		}},
		{"check not running", func() NodeStatus {
			f := standby()
			f.LastCheckAgeS = 600
			return nodeStatusFromFacts(inv, inv.Nodes[1], f)
		}},
		{"fenced", func() NodeStatus {
			f := standby()
			f.Fence = &nodeapi.FenceRecord{At: at, Reason: "split brain: peer pg-0 is a primary on newer timeline 3 (ours 2)", State: "waiting", Error: "not rejoining yet: no peer answers as a primary"}
			f.Diverged = []string{"/data/timescaledb.diverged-20261124T100000Z"}
			return nodeStatusFromFacts(inv, inv.Nodes[1], f)
		}},
		{"repmgrd not running", withRepmgrd(false, 40)},
		{"repmgrd starting", withRepmgrd(true, -1)},
		{"repmgrd stuck", withRepmgrd(true, 40)},
		{"repmgrd slow but within a check", withRepmgrd(true, 4)},
		{"port closed by the frozen-primary fence", func() NodeStatus {
			f := standby()
			f.Database = &nodeapi.StatusReport{Report: nodeapi.Report{Role: nodeapi.RoleDown, Reason: "local database: timeout"},
				PortClosed: &nodeapi.PortFence{At: at, Port: 5432, Reason: "split brain: peer pg-0 is a primary on newer timeline 3 (ours 2); this primary does not answer"}}
			f.Fence = &nodeapi.FenceRecord{At: at, Reason: "split brain: peer pg-0 is a primary on newer timeline 3 (ours 2); this primary does not answer", State: "rejoining"}
			return nodeStatusFromFacts(inv, inv.Nodes[1], f)
		}},
		{"locked", func() NodeStatus {
			f := standby()
			f.Lock = &probe.Lock{Holder: "ops@laptop pid 4242", Command: "apply", Since: at}
			return nodeStatusFromFacts(inv, inv.Nodes[1], f)
		}},
		{"an apply that did not end", func() NodeStatus {
			f := standby()
			f.Apply = &probe.Operation{Kind: "apply", Step: "containers", StartedAt: at, StepAt: at, By: "ops@laptop pid 4242"}
			return nodeStatusFromFacts(inv, inv.Nodes[1], f)
		}},
		{"promotion gate refuses, a copy kept", func() NodeStatus {
			f := standby()
			f.Gate = &agent.Gate{Version: agent.GateVersion, Node: "pg-1", At: at, Mode: "zero-loss", Code: agent.GateLocalDown,
				Reason: "promotion refused: its database was down at 2026-12-04T11:59:00Z", Since: at}
			f.LastCheckAgeS = 1
			f.Kept = []probe.KeptCopy{{Path: "/data/timescaledb/diverged-20261204T115900Z", SizeBytes: 64 << 20, At: at, Reason: "64 MiB, kept by the start gate"}}
			f.Diverged = []string{"/data/timescaledb/diverged-20261204T115900Z (64 MiB, kept by the start gate)"}
			return nodeStatusFromFacts(inv, inv.Nodes[1], f)
		}},
	}
	var out strings.Builder
	for _, c := range cases {
		ns := c.ns()
		ns.LastCheckAgeS = float64(int(ns.LastCheckAgeS))
		primary := NodeStatus{Node: "pg-0", Address: "192.168.89.131", Reachable: true, Keepalived: "MASTER", HoldsVIP: true,
			Role: nodeapi.RolePrimary, Timeline: 2, Container: "running"}
		cs := &ClusterStatus{VIP: inv.Keepalived.VirtualIPAddress, Nodes: []NodeStatus{primary, ns}}
		judge(cs, Options{MaxLag: 30 * time.Second})
		out.WriteString("== " + c.name + "\n")
		cs.Print(&out, TableOptions{})
		j, _ := json.MarshalIndent(ns, "", "  ")
		out.Write(j)
		out.WriteString("\n\n")
	}
	golden(t, "status-states.txt", []byte(out.String()))
	txt := out.String()
	for _, want := range []string{"sudo was refused", "Cannot connect to the Docker daemon", "connection refused", "last ran 600 s ago", "diverged data kept in", "locked by ops@laptop",
		"pg-1: repmgrd is not running: no automatic failover", "pg-1: repmgrd has not reached its upstream since the database started",
		"pg-1: repmgrd last reached its upstream 40 s ago (it checks every 1 s)", "automatic failover armed",
		"pg-1: database port 5432 closed to other hosts since 2026-11-24 10:00:00Z", "it opens once the database answers as a standby"} {
		if !strings.Contains(txt, want) {
			t.Errorf("status output lacks %q", want)
		}
	}
}

// TestZeroLossVerdicts: the primary's zero-loss state reaches the verdict:
// on in the healthy line, suspended as degraded, waiting (writes blocked) as
// critical.
func TestZeroLossVerdicts(t *testing.T) {
	inv := fixture.Example(t)
	standby := NodeStatus{Node: "pg-1", Address: "192.168.89.133", Reachable: true, Keepalived: "FAULT", Role: nodeapi.RoleStandby, Timeline: 2,
		Container: "running", Replication: []nodeapi.Replication{{Peer: "192.168.89.131", State: "streaming"}}, Promotion: gateAllows}
	for _, tc := range []struct {
		sync, verdict, reason string
	}{
		{"on: commits wait until a standby has them", VerdictHealthy, "zero-loss mode on"},
		{"suspended: no standby has streamed from this primary on timeline 2; commits are asynchronous until one does", VerdictDegraded, "pg-0: zero-loss mode suspended: no standby has streamed"},
		{"waiting: pg-1 streamed and does not answer: it may be cut off and promoted, so commits wait for it (database.synchronous: false lets them through)", VerdictCritical, "pg-0: writes wait (zero-loss mode): pg-1 streamed and does not answer"},
		{"off", VerdictHealthy, "1 standby streaming"},
	} {
		primary := NodeStatus{Node: "pg-0", Address: "192.168.89.131", Reachable: true, Keepalived: "MASTER", HoldsVIP: true,
			Role: nodeapi.RolePrimary, Timeline: 2, Container: "running",
			LastCheck: &nodeapi.Report{Pass: true, Reason: "primary on timeline 2", Sync: tc.sync}}
		cs := &ClusterStatus{VIP: inv.Keepalived.VirtualIPAddress, Nodes: []NodeStatus{primary, standby}}
		judge(cs, Options{MaxLag: 30 * time.Second})
		if cs.Verdict != tc.verdict || !strings.Contains(strings.Join(cs.Reasons, "; "), tc.reason) {
			t.Errorf("sync %q: %s: %v", tc.sync, cs.Verdict, cs.Reasons)
		}
		if tc.sync == "off" && strings.Contains(strings.Join(cs.Reasons, "; "), "zero-loss") {
			t.Errorf("zero-loss mode off is reported: %v", cs.Reasons)
		}
	}
}

// The witness's states: seen and registered is healthy; gone, unseen or not
// registered is degraded, with the cost said.
func TestWitnessStatusVerdicts(t *testing.T) {
	healthy := func() *ClusterStatus {
		return &ClusterStatus{VIP: "10.77.0.100/24", Nodes: []NodeStatus{
			{Node: "pg-0", Reachable: true, Role: nodeapi.RolePrimary, HoldsVIP: true, Keepalived: "MASTER", Container: "running"},
			{Node: "pg-1", Reachable: true, Role: nodeapi.RoleStandby, Keepalived: "FAULT", Container: "running",
				Replication: []nodeapi.Replication{{State: "streaming"}}, Promotion: gateAllows},
		}, Witness: &WitnessStatus{Node: "witness-9", Reachable: true, Container: "running", Seen: "yes", Registered: true}}
	}
	cases := []struct {
		name    string
		mutate  func(*WitnessStatus)
		verdict string
		reason  string
	}{
		{"seen", func(*WitnessStatus) {}, VerdictHealthy, "witness witness-9 seen"},
		{"unreachable", func(w *WitnessStatus) { w.Reachable, w.Error = false, "ssh: connection refused" }, VerdictDegraded, "witness witness-9 is unreachable (ssh: connection refused): repmgr will not promote"},
		{"container exited", func(w *WitnessStatus) { w.Container = "exited" }, VerdictDegraded, "witness witness-9: container exited: repmgr will not promote"},
		{"not seen", func(w *WitnessStatus) { w.Seen = "no: timed out" }, VerdictDegraded, "the primary's check does not reach its database (timed out)"},
		{"not registered", func(w *WitnessStatus) { w.Registered = false }, VerdictDegraded, "is not registered with repmgr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := healthy()
			c.mutate(cs.Witness)
			judge(cs, Options{})
			if cs.Verdict != c.verdict || !strings.Contains(strings.Join(cs.Reasons, "; "), c.reason) {
				t.Errorf("verdict %s: %v", cs.Verdict, cs.Reasons)
			}
		})
	}
}
