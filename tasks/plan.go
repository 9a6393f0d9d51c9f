// Package tasks turns an inventory and the gathered state of each node into a
// plan, and prints and saves it: every change, its consequence, its stage
// and its task (what is done on the node, as data). It also decides the
// operations that are not plans of changes: a switchover, a maintenance
// pause and its resume, a promotion. Package apply carries a plan or an
// operation out on the nodes; tasks never imports it. diff and apply share
// this one path: apply performs exactly the changes the plan lists.
package tasks

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/haup-project/haup/cluster"
	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

// Op is the kind of a change, printed as its first column.
type Op string

// The kinds of change, as terraform shows them.
const (
	OpCreate  Op = "+"
	OpUpdate  Op = "~"
	OpReplace Op = "-/+"
	OpDelete  Op = "-"
)

// Kind is what a change acts on, printed as its second column.
type Kind string

// The kinds of change.
const (
	KindPackage   Kind = "package"
	KindDir       Kind = "dir"
	KindFile      Kind = "file"
	KindImage     Kind = "image"
	KindContainer Kind = "container"
	KindService   Kind = "service"
	KindVIP       Kind = "vip"
	KindDatabase  Kind = "database"
	KindPassword  Kind = "password"
	KindRepmgrd   Kind = "repmgrd"
	KindWitness   Kind = "repmgr witness"
	KindStaging   Kind = "staging"
	KindKeptData  Kind = "kept-data"
	KindOperation Kind = "operation"
)

// Stage orders changes across nodes: every node finishes StageHost before
// any container changes, containers before a node rejoins, and all of that
// before keepalived is (re)started or reloaded. Apply takes the stages in
// this order, each on every node before the next.
type Stage int

// The stages, in the order apply takes them.
const (
	// StageHost: staging leftovers, the package, directories, files,
	// daemon-reload, the image.
	StageHost Stage = iota
	// StagePassword: a rotation's password set inside the database, on
	// the primary.
	StagePassword
	// StageSwap: the staged password moved into place.
	StageSwap
	// StageContainer: the containers, the primary's first (or a rolling
	// change, Plan.RollingSteps).
	StageContainer
	// StageRejoin: nodes that must follow the current primary.
	StageRejoin
	// StageService: systemd, keepalived, who may connect, records and
	// leftovers of interrupted runs.
	StageService
)

// stageNames are the stages as the plan's order of work prints them.
var stageNames = map[Stage]string{
	StageHost:      "host: staging, packages, directories, files, images (nodes in parallel)",
	StagePassword:  "password: set inside the database on the primary",
	StageSwap:      "password: the staged password moved into place (nodes in parallel)",
	StageContainer: "containers",
	StageRejoin:    "rejoin: nodes that must follow the current primary (nodes in parallel)",
	StageService:   "services: systemd, keepalived, who may connect to PostgreSQL (nodes in parallel)",
}

// Change is one planned change on one node.
type Change struct {
	Op   Op
	Kind Kind
	Name string
	// Summary says what will happen, in a few words.
	Summary string
	// Diff is a unified diff with secrets masked, or empty.
	Diff string
	// Blocked says why the change needs an explicit flag; a plan with a
	// blocked change cannot be applied.
	Blocked string

	stage Stage
	// task is what apply does on the node to make the change.
	task Task
	// container and file are the change's shape, when the plan's rules
	// decide something about it: compose writes Summary and Blocked from
	// them.
	container *containerRule
	file      *fileRule
}

// String is the change's plan line.
func (c Change) String() string {
	s := fmt.Sprintf("%s %s %s", c.Op, c.Kind, c.Name)
	if c.Summary != "" {
		s += ": " + c.Summary
	}
	return s
}

// Stage is the stage of work the change belongs to.
func (c Change) Stage() Stage { return c.stage }

// Task is what apply does on the node to make the change.
func (c Change) Task() Task { return c.task }

// NodePlan is the plan for one node.
type NodePlan struct {
	Node    inventory.Node
	Facts   *Facts
	Changes []Change
	// Resources counts what haup manages on the node, changed or not.
	Resources int
}

// Plan is the plan for the whole cluster, nodes in inventory order.
type Plan struct {
	Inventory *inventory.Inventory
	Nodes     []*NodePlan
	// Witness is the witness host's plan, when the inventory has one. It
	// is not one of Nodes: it holds no VIP and no cluster data, so the
	// cluster's roles, rolling changes and switchovers never consider it.
	Witness *NodePlan
}

// All is every host's plan: the nodes, then the witness.
func (p *Plan) All() []*NodePlan {
	if p.Witness == nil {
		return p.Nodes
	}
	return append(append([]*NodePlan(nil), p.Nodes...), p.Witness)
}

// HasStage tells whether a data node (not the witness) has a change of one
// of the stages.
func (p *Plan) HasStage(stages ...Stage) bool {
	for _, np := range p.Nodes {
		for _, c := range np.Changes {
			for _, s := range stages {
				if c.stage == s {
					return true
				}
			}
		}
	}
	return false
}

// Order is the order of work apply follows, one line per stage that has
// changes, as diff prints it.
func (p *Plan) Order() []string {
	var out []string
	has := func(s Stage) []string {
		var names []string
		for _, n := range p.Nodes {
			for _, c := range n.Changes {
				if c.stage == s {
					names = append(names, n.Node.Name)
					break
				}
			}
		}
		return names
	}
	for _, s := range []Stage{StageHost, StagePassword, StageSwap, StageContainer, StageRejoin, StageService} {
		names := has(s)
		if len(names) == 0 {
			continue
		}
		line := stageNames[s] + ": " + strings.Join(names, ", ")
		if s == StageContainer && p.RollingSteps() != nil {
			out = append(out, stageNames[s]+" (rolling): "+p.rollingOrder())
			continue
		}
		if s == StageContainer {
			first, rest := p.ContainerOrder()
			var parts []string
			if first >= 0 {
				parts = append(parts, p.Nodes[first].Node.Name+" first (the primary, or the node that creates the cluster)")
				if len(rest) > 0 {
					parts = append(parts, "wait until its database answers")
				}
			}
			if len(rest) > 0 {
				var rn []string
				for _, i := range rest {
					rn = append(rn, p.Nodes[i].Node.Name)
				}
				parts = append(parts, "then "+strings.Join(rn, ", "))
			}
			line = stageNames[s] + ": " + strings.Join(parts, ", ")
		}
		out = append(out, line)
	}
	if p.Witness != nil && len(p.Witness.Changes) > 0 {
		out = append(out, "witness "+p.Witness.Node.Name+": its host, then its container (it registers with the primary; it holds no data)")
	}
	return out
}

// Rolling returns the primary's node plan and the switchover target when the
// plan changes the primary's container as a rolling change, else nil and "".
func (p *Plan) Rolling() (*NodePlan, string) {
	for _, n := range p.Nodes {
		for _, c := range n.Changes {
			if r := c.container; r != nil && r.rollingTo != "" {
				return n, r.rollingTo
			}
		}
	}
	return nil, ""
}

// ContainerOrder picks the node whose container goes first: the node running
// the primary, or, when no database answers as primary (a new cluster), the
// inventory's initial primary. It returns -1 when that node has no container
// change; rest holds the other nodes with container changes. Indexes are
// into p.Nodes.
func (p *Plan) ContainerOrder() (first int, rest []int) {
	leader := p.Inventory.Database.Primary
	if ps := p.View().Primaries; len(ps) > 0 {
		leader = ps[0].Name
	}
	first = -1
	for i, np := range p.Nodes {
		if !np.hasStage(StageContainer) {
			continue
		}
		if np.Node.Name == leader {
			first = i
		} else {
			rest = append(rest, i)
		}
	}
	return first, rest
}

// hasStage tells whether the node has a change of stage s.
func (n *NodePlan) hasStage(s Stage) bool {
	for _, c := range n.Changes {
		if c.stage == s {
			return true
		}
	}
	return false
}

// Options changes what a plan allows.
type Options struct {
	// AllowPrimaryRestart lets a plan recreate the container of a node whose
	// database is (or may be) the primary.
	AllowPrimaryRestart bool
	// RemoveKept plans the removal of the data directories kept aside on
	// the nodes (diverged copies): never without it.
	RemoveKept bool
	// tlsOn: this plan turns TLS on in a running cluster (tlsTransition):
	// libpq prefers TLS until every node serves it, and the agent uses TLS
	// once every container does; tlsOff turns it off: libpq in the
	// containers that still serve it prefers TLS, so that they replicate
	// from one that does not (set by PlanCluster).
	tlsOn, tlsOff bool
}

// Empty reports whether nothing would change.
func (p *Plan) Empty() bool {
	for _, n := range p.All() {
		if len(n.Changes) > 0 {
			return false
		}
	}
	return true
}

// Blocked returns the changes that need a flag, as errors naming the node.
func (p *Plan) Blocked() error {
	var errs []error
	for _, n := range p.All() {
		for _, c := range n.Changes {
			if c.Blocked != "" {
				errs = append(errs, fmt.Errorf("%s: %s %s: %s", n.Node.Name, c.Kind, c.Name, c.Blocked))
			}
		}
	}
	return errors.Join(errs...)
}

// shaped sets a part of the shape of file changes, then composes them.
func shaped(cs []Change, set func(r *fileRule)) []Change {
	for i := range cs {
		set(cs[i].file)
		cs[i].compose()
	}
	return cs
}

// Build computes the plan of one node from its desired state and facts.
func Build(inv *inventory.Inventory, d *desired.Desired, f *Facts, opts Options) *NodePlan {
	np := &NodePlan{Node: d.Node, Facts: f}
	secrets := inv.SecretValues()
	add := func(c ...Change) { np.Changes = append(np.Changes, c...) }

	add(packageChanges(f)...)
	np.Resources++
	for _, dir := range d.Dirs {
		add(dirChanges(dir, f.Dirs[dir.Path])...)
		np.Resources++
	}
	reload, confSHA, units, tls := "", "", false, false
	// TLS turned off: haup's rules stop requiring it before anything else,
	// since the agent and the containers then connect in clear text.
	relax := !inv.Database.TLS.Enabled && strings.Contains(string(f.Files[desired.HBAPath].Content), "hostssl")
	if relax {
		add(hbaChanges(inv, d.HBA, d.Container.Name, f.Files[desired.HBAPath], secrets, true)...)
	}
	if opts.tlsOff && servesTLS(f) {
		cs := fileChanges(desired.File{Path: desired.ServicePath, Mode: 0o644, Content: desired.ServiceFile(true)}, f.Files[desired.ServicePath], secrets)
		add(shaped(cs, func(r *fileRule) { r.tls = tlsOffService })...)
	}
	// verify-full after the containers: in the change that turns TLS on,
	// or to finish one an interrupted apply left with its transitional
	// service file (its WAL receiver still connected unverified).
	finishTLS := opts.tlsOn || (inv.Database.TLS.Enabled && bytes.Equal(f.Files[desired.ServicePath].Content, desired.ServiceFile(true)))
	for _, file := range d.Files {
		if file.Path == desired.ServicePath && finishTLS {
			// Until every node serves TLS (verifyFullChange).
			file.Content = desired.ServiceFile(true)
		}
		cs := fileChanges(file, f.Files[file.Path], secrets)
		if file.Path == nodeapi.ConfigPath && opts.tlsOn {
			// The agent's connections use TLS once the containers serve it.
			shaped(cs, func(r *fileRule) { r.tls = tlsAgentLast })
			for i := range cs {
				cs[i].stage = StageService
			}
		}
		if file.Password && f.Container != nil && f.Files[file.Path].Exists &&
			f.Files[file.Path].SHA256 != sha256hex(file.Content) {
			// The database keeps the password it was created with:
			// blocked, unless planRotation makes it a rotation.
			shaped(cs, func(r *fileRule) { r.password = &passwordRule{} })
		}
		switch file.Reloads {
		case desired.ReloadsKeepalived:
			confSHA = sha256hex(file.Content)
			if len(cs) > 0 {
				reload = file.Path
			}
		case desired.ReloadsSystemd:
			units = units || len(cs) > 0
		case desired.ReloadsTLS:
			tls = tls || f.Files[file.Path].SHA256 != sha256hex(file.Content)
		}
		add(cs...)
		np.Resources++
	}
	add(imageChanges(d.Container.Image, f)...)
	np.Resources++
	ccs := containerChanges(d.Container, f, opts, false)
	add(ccs...)
	np.Resources++
	if tls && len(ccs) == 0 && f.Container != nil {
		add(tlsReloadChange(d.Container.Name))
	}
	add(serviceChanges(f, confSHA, reload, units, inv.Keepalived.VirtualIPAddress, d.Node.Interface)...)
	np.Resources++
	if finishTLS {
		add(verifyFullChange(d.Container.Name))
	}
	if cs := hbaChanges(inv, d.HBA, d.Container.Name, f.Files[desired.HBAPath], secrets, false); !relax && (len(cs) > 0 || d.HBA != nil) {
		add(cs...)
		np.Resources++
	}
	// The plan lists a node's changes in the order apply makes them.
	sort.SliceStable(np.Changes, func(i, j int) bool { return np.Changes[i].stage < np.Changes[j].stage })
	return np
}

// View is the view of the plan's facts (its data nodes, never the
// witness).
func (p *Plan) View() *cluster.View {
	return cluster.ViewOf(p.nodeFacts())
}

// nodeFacts are the plan's data nodes with their facts.
func (p *Plan) nodeFacts() []cluster.NodeFacts {
	nodes := make([]cluster.NodeFacts, len(p.Nodes))
	for i, np := range p.Nodes {
		nodes[i] = cluster.NodeFacts{Node: np.Node, Facts: np.Facts}
	}
	return nodes
}

// nodePlan is the plan of the named data node, nil when there is none.
func (p *Plan) nodePlan(name string) *NodePlan {
	for _, np := range p.Nodes {
		if np.Node.Name == name {
			return np
		}
	}
	return nil
}
