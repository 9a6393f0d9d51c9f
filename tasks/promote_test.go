package tasks

import (
	"strings"
	"testing"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/status"
)

func TestDecidePromote(t *testing.T) {
	standby := func(p *status.Promotion) status.NodeStatus {
		return status.NodeStatus{Node: "pg-1", Reachable: true, Role: nodeapi.RoleStandby, Promotion: p,
			Repmgr: []nodeapi.RepmgrNode{{Name: "pg-0", Type: "primary"}, {Name: "pg-1", Type: "standby"}}}
	}
	lost := status.NodeStatus{Node: "pg-0", Role: status.RoleUnknown, Error: "ssh: i/o timeout"}
	refused := &status.Promotion{Code: "local-down", Reason: "promotion refused: its database was down", LagBytes: 0, WindowS: 12}
	allowed := &status.Promotion{Allowed: true, Code: "eligible", Reason: "promotion allowed: in sync"}
	cs := func(nodes ...status.NodeStatus) *status.ClusterStatus { return &status.ClusterStatus{Nodes: nodes} }
	cases := []struct {
		name   string
		cs     *status.ClusterStatus
		node   string
		accept bool
		err    string
	}{
		{"gate refuses, no flag", cs(lost, standby(refused)), "pg-1", false, "refusing: pg-1's promotion gate refuses it (promotion refused: its database was down); it may lack acknowledged writes: 0 bytes behind when it last streamed, and up to 12 s of writes made without it"},
		{"gate refuses, accepted", cs(lost, standby(refused)), "pg-1", true, ""},
		{"gate allows", cs(lost, standby(allowed)), "pg-1", false, ""},
		{"no gate record, no flag", cs(lost, standby(nil)), "pg-1", false, "no promotion gate record"},
		{"a live primary", cs(status.NodeStatus{Node: "pg-0", Reachable: true, Role: nodeapi.RolePrimary}, standby(refused)), "pg-1", true, "refusing: pg-0 answers as a primary"},
		{"the primary itself", cs(status.NodeStatus{Node: "pg-0", Reachable: true, Role: nodeapi.RolePrimary}, standby(refused)), "pg-0", true, "refusing: pg-0 is the primary already"},
		{"unknown", cs(lost, standby(refused)), "pg-9", true, `no node "pg-9" in the inventory`},
		{"the witness", &status.ClusterStatus{Nodes: []status.NodeStatus{lost, standby(refused)}, Witness: &status.WitnessStatus{Node: "w-2"}}, "w-2", true, "refusing: w-2 is the witness"},
		{"unreachable", cs(standby(refused), lost), "pg-0", true, "refusing: pg-0 cannot be reached (ssh: i/o timeout)"},
		{"database down", cs(lost, status.NodeStatus{Node: "pg-1", Reachable: true, Role: nodeapi.RoleDown}), "pg-1", true, "refusing: pg-1's database does not answer as a standby (down)"},
	}
	for _, c := range cases {
		d, err := DecidePromote(c.cs, c.node, c.accept)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		case err == nil && d.Old != "pg-0":
			t.Errorf("%s: old primary %q", c.name, d.Old)
		}
	}
	d, _ := DecidePromote(cs(lost, standby(refused)), "pg-1", true)
	var b strings.Builder
	d.Print(&b)
	for _, want := range []string{"~ database pg-1: promoted to primary", "Data loss accepted: pg-1 may lack acknowledged writes", "When pg-0 returns, its start gate keeps its data aside"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, b.String())
		}
	}
}
