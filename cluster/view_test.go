package cluster

import (
	"reflect"
	"testing"

	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

// vf is a node's facts as the view reads them.
type vf = fixture.ViewFacts

func TestClusterView(t *testing.T) {
	type want struct {
		primaries  []string
		newest     int
		current    []string
		stale      []string
		only       string // OnlyPrimary's name, "" when none
		currentOne string // CurrentPrimary, "" when none
		standbys   []string
		streaming  []string
		unfenced   []string
		holders    []string
		holder     string // VIPHolder, "" when none
		fenced     []string
		paused     []string
		down       []string
		unknown    []string
	}
	cases := []struct {
		name  string
		nodes []vf // named n1, n2, ... in order
		want  want
	}{
		{"empty", nil, want{}},
		{"no primary", []vf{{Role: nodeapi.RoleStandby, Timeline: 3, Repl: "startup"}, {Role: nodeapi.RoleDown}},
			want{standbys: []string{"n1"}, down: []string{"n2"}}},
		{"one primary with the VIP, a streaming standby",
			[]vf{{Role: nodeapi.RolePrimary, Timeline: 2, VIP: true}, {Role: nodeapi.RoleStandby, Timeline: 2, Repl: "streaming"}},
			want{primaries: []string{"n1"}, newest: 2, current: []string{"n1"}, only: "n1", currentOne: "n1",
				standbys: []string{"n2"}, streaming: []string{"n2"}, unfenced: []string{"n2"}, holders: []string{"n1"}, holder: "n1"}},
		{"a standby that does not stream",
			[]vf{{Role: nodeapi.RolePrimary, Timeline: 1, VIP: true}, {Role: nodeapi.RoleStandby, Timeline: 1, Repl: "catchup"}, {Role: nodeapi.RoleStandby, Timeline: 1}},
			want{primaries: []string{"n1"}, newest: 1, current: []string{"n1"}, only: "n1", currentOne: "n1",
				standbys: []string{"n2", "n3"}, holders: []string{"n1"}, holder: "n1"}},
		{"two primaries on the same timeline, the VIP on neither",
			[]vf{{Role: nodeapi.RolePrimary, Timeline: 4}, {Role: nodeapi.RolePrimary, Timeline: 4}},
			want{primaries: []string{"n1", "n2"}, newest: 4, current: []string{"n1", "n2"}}},
		{"a stale primary on an older timeline, the VIP on both",
			[]vf{{Role: nodeapi.RolePrimary, Timeline: 3, VIP: true}, {Role: nodeapi.RolePrimary, Timeline: 5, VIP: true}, {Role: nodeapi.RoleStandby, Timeline: 5, Repl: "streaming", Paused: true}},
			want{primaries: []string{"n1", "n2"}, newest: 5, current: []string{"n2"}, stale: []string{"n1"}, currentOne: "n2",
				standbys: []string{"n3"}, streaming: []string{"n3"}, unfenced: []string{"n3"}, holders: []string{"n1", "n2"}, paused: []string{"n3"}}},
		{"unknown roles, a fenced streaming standby",
			[]vf{{}, {Role: nodeapi.RolePrimary, Timeline: 7, Paused: true}, {Role: nodeapi.RoleStandby, Timeline: 7, Repl: "streaming", Fenced: true}, {Role: "recovering"}},
			want{primaries: []string{"n2"}, newest: 7, current: []string{"n2"}, only: "n2", currentOne: "n2",
				standbys: []string{"n3"}, streaming: []string{"n3"}, fenced: []string{"n3"}, paused: []string{"n2"}, unknown: []string{"n1", "n4"}}},
		{"a fenced node that is down",
			[]vf{{Role: nodeapi.RolePrimary, Timeline: 2, VIP: true}, {Role: nodeapi.RoleDown, Fenced: true}},
			want{primaries: []string{"n1"}, newest: 2, current: []string{"n1"}, only: "n1", currentOne: "n1",
				holders: []string{"n1"}, holder: "n1", fenced: []string{"n2"}, down: []string{"n2"}}},
		{"a primary on timeline 0 (a new cluster)",
			[]vf{{Role: nodeapi.RolePrimary}},
			want{primaries: []string{"n1"}, current: []string{"n1"}, only: "n1", currentOne: "n1"}},
	}
	names := []string{"n1", "n2", "n3", "n4", "n5"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var nodes []NodeFacts
			for i, x := range c.nodes {
				nodes = append(nodes, NodeFacts{Node: inventory.Node{Name: names[i]}, Facts: x.Facts()})
			}
			v := ViewOf(nodes)
			only, _ := v.OnlyPrimary()
			cur, _ := v.CurrentPrimary()
			holder, _ := v.VIPHolder()
			got := want{primaries: v.PrimaryNames(), newest: v.Newest, current: v.Current, stale: v.Stale,
				only: only.Name, currentOne: cur, standbys: v.Standbys, streaming: v.Streaming,
				unfenced: v.StreamingUnfenced(), holders: v.VIPHolders, holder: holder,
				fenced: v.Fenced, paused: v.Paused, down: v.Down, unknown: v.Unknown}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("view:\n got %+v\nwant %+v", got, c.want)
			}
			for _, s := range v.Stale {
				if !v.IsStale(s) {
					t.Errorf("IsStale(%s) = false", s)
				}
			}
			for _, s := range v.Current {
				if v.IsStale(s) {
					t.Errorf("IsStale(%s) = true for a current primary", s)
				}
			}
		})
	}
}

// TestClusterViewNilFacts: a node whose facts were not asked is in the view
// with nothing known of it, not a crash.
func TestClusterViewNilFacts(t *testing.T) {
	v := ViewOf([]NodeFacts{{Node: inventory.Node{Name: "a"}, Facts: vf{Role: nodeapi.RolePrimary, VIP: true}.Facts()}, {Node: inventory.Node{Name: "b"}}})
	if n, ok := v.Node("b"); !ok || n.Role != "" || n.Up() || n.HoldsVIP {
		t.Errorf("Node(b) = %+v, %v", n, ok)
	}
	if p, ok := v.CurrentPrimary(); !ok || p != "a" {
		t.Errorf("CurrentPrimary = %q, %v", p, ok)
	}
}

func TestClusterViewNode(t *testing.T) {
	v := ViewOf([]NodeFacts{{Node: inventory.Node{Name: "a"}, Facts: vf{Role: nodeapi.RoleStandby, Repl: "streaming"}.Facts()}})
	if n, ok := v.Node("a"); !ok || !n.Streaming || !n.Up() {
		t.Errorf("Node(a) = %+v, %v", n, ok)
	}
	if _, ok := v.Node("b"); ok {
		t.Error("Node(b) found")
	}
	if n := (ViewNode{Role: nodeapi.RoleDown}); n.Up() {
		t.Error("a down node is up")
	}
}
