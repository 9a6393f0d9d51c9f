// Package tasks turns an inventory and the gathered state of each node into a
// plan, prints it, and carries it out. diff and apply share this one path:
// apply performs exactly the changes the plan lists.
package tasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/remote"
)

// Op is the kind of a change, printed as its first column.
type Op string

// The kinds of change, as terraform shows them.
const (
	OpCreate  Op = "+"
	OpUpdate  Op = "~"
	OpReplace Op = "-/+"
)

// stage orders changes across nodes: every node finishes stageHost before
// any container changes, and containers before keepalived is (re)started.
type stage int

const (
	stageHost stage = iota
	stageContainer
	stageService
)

// Change is one planned change on one node.
type Change struct {
	Op   Op
	Kind string // package, dir, file, image, container, service
	Name string
	// Summary says what will happen, in a few words.
	Summary string
	// Diff is a unified diff with secrets masked, or empty.
	Diff string
	// Blocked says why the change needs an explicit flag; a plan with a
	// blocked change cannot be applied.
	Blocked string

	stage stage
	do    func(ctx context.Context, h remote.Host) error
}

// String is the change's plan line.
func (c Change) String() string {
	s := fmt.Sprintf("%s %s %s", c.Op, c.Kind, c.Name)
	if c.Summary != "" {
		s += ": " + c.Summary
	}
	return s
}

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
}

// Options changes what a plan allows.
type Options struct {
	// AllowPrimaryRestart lets a plan recreate the container of a node whose
	// database is (or may be) the primary.
	AllowPrimaryRestart bool
}

// Empty reports whether nothing would change.
func (p *Plan) Empty() bool {
	for _, n := range p.Nodes {
		if len(n.Changes) > 0 {
			return false
		}
	}
	return true
}

// Blocked returns the changes that need a flag, as errors naming the node.
func (p *Plan) Blocked() error {
	var errs []error
	for _, n := range p.Nodes {
		for _, c := range n.Changes {
			if c.Blocked != "" {
				errs = append(errs, fmt.Errorf("%s: %s %s: %s", n.Node.Name, c.Kind, c.Name, c.Blocked))
			}
		}
	}
	return errors.Join(errs...)
}

// Build computes the plan of one node from its desired state and facts.
func Build(inv *inventory.Inventory, d *Desired, f *Facts, opts Options) *NodePlan {
	np := &NodePlan{Node: d.Node, Facts: f}
	secrets := inv.SecretValues()
	add := func(c ...Change) { np.Changes = append(np.Changes, c...) }

	add(packageChanges(f)...)
	np.Resources++
	for _, dir := range d.Dirs {
		add(dirChanges(dir, f.Dirs[dir.Path])...)
		np.Resources++
	}
	reload := ""
	for _, file := range d.Files {
		cs := fileChanges(file, f.Files[file.Path], secrets)
		if len(cs) > 0 && file.Reloads != "" {
			reload = file.Path
		}
		add(cs...)
		np.Resources++
	}
	add(imageChanges(d.Container.Image, f)...)
	np.Resources++
	add(containerChanges(d.Container, f, opts)...)
	np.Resources++
	add(serviceChanges(f, reload)...)
	np.Resources++
	return np
}
