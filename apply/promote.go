package apply

import (
	"context"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// Promote carries the promotion out on the node's host: an operator's
// acceptance recorded for the gate (so repmgrd's own election does not
// refuse meanwhile), the promotion, the acceptance removed.
func Promote(ctx context.Context, h remote.Host, d tasks.PromoteDecision, by string) error {
	agent := shq(nodeapi.BinaryPath)
	script := agent + " accept-data-loss -for 120s -by " + shq(by) + " && " +
		agent + " promote " + shq(d.Old) + "; rc=$?; " + agent + " accept-data-loss -end; exit $rc\n"
	if _, err := h.Exec(ctx, script); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "promote", Err: err}
	}
	return nil
}
