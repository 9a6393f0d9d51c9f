package tasks

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/gather"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// Facts is the observed state of a node: probe.Facts, shared with the node
// agent that fills it, read by gather.
type Facts = probe.Facts

// FileFact is what a node has at a path.
type FileFact = probe.FileFact

// Hosts maps node names to their connections.
type Hosts map[string]remote.Host

// PreflightError lists every preflight problem of every node.
type PreflightError struct {
	Problems map[string][]string
	order    []string
}

func (e *PreflightError) Error() string {
	s := "preflight failed, nothing was changed:"
	for _, n := range e.order {
		for _, p := range e.Problems[n] {
			s += fmt.Sprintf("\n  %s: %s", n, p)
		}
	}
	return s
}

// PlanCluster gathers every node's facts in parallel (one round trip each),
// runs preflight and builds the plan. It changes nothing.
func PlanCluster(ctx context.Context, inv *inventory.Inventory, hosts Hosts, bins desired.CheckBinaries, opts Options) (*Plan, error) {
	plan := &Plan{Inventory: inv, Nodes: make([]*NodePlan, len(inv.Nodes))}
	facts := make([]*Facts, len(inv.Nodes))
	errs := make([]error, len(inv.Nodes))
	// Every node's error, not the first (errgroup's): the operator fixes
	// all the unreachable nodes from one run.
	var wg sync.WaitGroup
	for i, node := range inv.Nodes {
		wg.Go(func() {
			f, err := gather.Node(ctx, hosts[node.Name], inv, node, bins)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", node.Name, err)
				return
			}
			facts[i] = f
		})
	}
	var wf *Facts
	var werr error
	if inv.HasWitness() {
		wg.Go(func() {
			wf, werr = gather.Witness(ctx, hosts[inv.Witness.Name], inv, bins)
			if werr != nil {
				werr = fmt.Errorf("%s (witness): %w", inv.Witness.Name, werr)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(append(errs, werr)...); err != nil {
		return nil, err
	}
	pe := &PreflightError{Problems: map[string][]string{}}
	for i, node := range inv.Nodes {
		if p := Preflight(node, facts[i]); len(p) > 0 {
			pe.Problems[node.Name] = p
			pe.order = append(pe.order, node.Name)
		}
	}
	if wf != nil {
		if p := WitnessPreflight(wf); len(p) > 0 {
			pe.Problems[inv.Witness.Name] = p
			pe.order = append(pe.order, inv.Witness.Name)
		}
	}
	if len(pe.order) > 0 {
		return nil, pe
	}
	if wf != nil {
		check, err := bins("linux", wf.Arch)
		if err != nil {
			return nil, fmt.Errorf("%s (witness): %w", inv.Witness.Name, err)
		}
		plan.Witness = BuildWitness(inv, wf, check)
	}
	opts.tlsOn, opts.tlsOff = tlsTransition(inv, facts)
	for i, node := range inv.Nodes {
		d, err := desired.DesiredState(inv, node, facts[i].Arch, bins)
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", node.Name, err)
			continue
		}
		plan.Nodes[i] = Build(inv, d, facts[i], opts)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	clusterChanges(plan)
	keptChanges(plan, opts)
	return plan, nil
}
