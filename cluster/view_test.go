package cluster

import (
	"reflect"
	"testing"

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
		{"no primary", []vf{{role: nodeapi.RoleStandby, timeline: 3, repl: "startup"}, {role: nodeapi.RoleDown}},
			want{standbys: []string{"n1"}, down: []string{"n2"}}},
		{"one primary with the VIP, a streaming standby",
			[]vf{{role: nodeapi.RolePrimary, timeline: 2, vip: true}, {role: nodeapi.RoleStandby, timeline: 2, repl: "streaming"}},
			want{primaries: []string{"n1"}, newest: 2, current: []string{"n1"}, only: "n1", currentOne: "n1",
				standbys: []string{"n2"}, streaming: []string{"n2"}, unfenced: []string{"n2"}, holders: []string{"n1"}, holder: "n1"}},
		{"a standby that does not stream",
			[]vf{{role: nodeapi.RolePrimary, timeline: 1, vip: true}, {role: nodeapi.RoleStandby, timeline: 1, repl: "catchup"}, {role: nodeapi.RoleStandby, timeline: 1}},
			want{primaries: []string{"n1"}, newest: 1, current: []string{"n1"}, only: "n1", currentOne: "n1",
				standbys: []string{"n2", "n3"}, holders: []string{"n1"}, holder: "n1"}},
		{"two primaries on the same timeline, the VIP on neither",
			[]vf{{role: nodeapi.RolePrimary, timeline: 4}, {role: nodeapi.RolePrimary, timeline: 4}},
			want{primaries: []string{"n1", "n2"}, newest: 4, current: []string{"n1", "n2"}}},
		{"a stale primary on an older timeline, the VIP on both",
			[]vf{{role: nodeapi.RolePrimary, timeline: 3, vip: true}, {role: nodeapi.RolePrimary, timeline: 5, vip: true}, {role: nodeapi.RoleStandby, timeline: 5, repl: "streaming", paused: true}},
			want{primaries: []string{"n1", "n2"}, newest: 5, current: []string{"n2"}, stale: []string{"n1"}, currentOne: "n2",
				standbys: []string{"n3"}, streaming: []string{"n3"}, unfenced: []string{"n3"}, holders: []string{"n1", "n2"}, paused: []string{"n3"}}},
		{"unknown roles, a fenced streaming standby",
			[]vf{{}, {role: nodeapi.RolePrimary, timeline: 7, paused: true}, {role: nodeapi.RoleStandby, timeline: 7, repl: "streaming", fenced: true}, {role: "recovering"}},
			want{primaries: []string{"n2"}, newest: 7, current: []string{"n2"}, only: "n2", currentOne: "n2",
				standbys: []string{"n3"}, streaming: []string{"n3"}, fenced: []string{"n3"}, paused: []string{"n2"}, unknown: []string{"n1", "n4"}}},
		{"a fenced node that is down",
			[]vf{{role: nodeapi.RolePrimary, timeline: 2, vip: true}, {role: nodeapi.RoleDown, fenced: true}},
			want{primaries: []string{"n1"}, newest: 2, current: []string{"n1"}, only: "n1", currentOne: "n1",
				holders: []string{"n1"}, holder: "n1", fenced: []string{"n2"}, down: []string{"n2"}}},
		{"a primary on timeline 0 (a new cluster)",
			[]vf{{role: nodeapi.RolePrimary}},
			want{primaries: []string{"n1"}, current: []string{"n1"}, only: "n1", currentOne: "n1"}},
	}
	names := []string{"n1", "n2", "n3", "n4", "n5"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var nodes []NodeFacts
			for i, x := range c.nodes {
				nodes = append(nodes, NodeFacts{Node: inventory.Node{Name: names[i]}, Facts: x.facts()})
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

func TestClusterViewNode(t *testing.T) {
	v := ViewOf([]NodeFacts{{Node: inventory.Node{Name: "a"}, Facts: vf{role: nodeapi.RoleStandby, repl: "streaming"}.facts()}})
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
