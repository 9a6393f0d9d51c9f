package tasks

import (
	"fmt"
	"strings"
)

// RollingStep is one step of a rolling change: what it does and the node
// it acts on. The plan holds the steps (Plan.RollingSteps); package apply
// takes them in order, and a test reads them.
type RollingStep struct {
	Kind RollingKind
	Node string
}

// RollingKind is what a step of a rolling change does.
type RollingKind int

// The kinds of step.
const (
	// RollStandby: a standby's container, then a wait until it streams
	// from the primary again.
	RollStandby RollingKind = iota
	// RollSwitchover: a switchover to the node, from the primary.
	RollSwitchover
	// RollOldPrimary: the old primary's container, then a wait until it
	// streams from the new primary.
	RollOldPrimary
	// RollExtensions: the extension updates the new image brings, on the
	// new primary.
	RollExtensions
)

// RollingSteps is the plan's rolling change step by step, or nil when the
// plan has none: each standby with a container change, the switchover,
// the old primary, the extensions.
func (p *Plan) RollingSteps() []RollingStep {
	from, to := p.Rolling()
	if from == nil {
		return nil
	}
	var steps []RollingStep
	for _, np := range p.Nodes {
		if np != from && np.hasStage(StageContainer) {
			steps = append(steps, RollingStep{RollStandby, np.Node.Name})
		}
	}
	return append(steps, RollingStep{RollSwitchover, to}, RollingStep{RollOldPrimary, from.Node.Name}, RollingStep{RollExtensions, to})
}

// rollingOrder is the plan's rolling change as diff's order of work says it.
func (p *Plan) rollingOrder() string {
	from, to := p.Rolling()
	var standbys, parts []string
	for _, s := range p.RollingSteps() {
		switch s.Kind {
		case RollStandby:
			standbys = append(standbys, s.Node)
		case RollSwitchover:
			if len(standbys) > 0 {
				parts = append(parts, strings.Join(standbys, ", ")+" first (standbys: each waits until it streams again)")
			}
			parts = append(parts, fmt.Sprintf("then a switchover %s -> %s (writes refused about 1-4 s; no acknowledged write lost)", from.Node.Name, to))
		case RollOldPrimary:
			parts = append(parts, "then "+s.Node+" as a standby of "+to+" (waits until it streams)")
		case RollExtensions:
			parts = append(parts, "then extension updates on "+s.Node+" when the image brings newer ones")
		}
	}
	return strings.Join(parts, ", ")
}

// Index is the position of the named data node in p.Nodes, or -1.
func (p *Plan) Index(name string) int {
	for i, np := range p.Nodes {
		if np.Node.Name == name {
			return i
		}
	}
	return -1
}
