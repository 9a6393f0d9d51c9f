package tasks

import (
	"context"
	"fmt"

	"github.com/haup-project/haup/remote"
)

// serviceChanges keeps keepalived enabled and running. A changed configuration
// is reloaded, never restarted: a restart drops the VIP for a moment.
func serviceChanges(f *Facts, changedConf string) []Change {
	var summary, script string
	op := OpUpdate
	switch {
	case !f.KeepalivedActive:
		op, summary, script = OpCreate, "enable and start", "systemctl enable --now keepalived"
	case changedConf != "":
		summary, script = "reload ("+changedConf+" changed)", "systemctl reload keepalived"
		if !f.KeepalivedEnabled {
			summary, script = "enable and reload ("+changedConf+" changed)", "systemctl enable keepalived && systemctl reload keepalived"
		}
	case !f.KeepalivedEnabled:
		summary, script = "enable at boot", "systemctl enable keepalived"
	default:
		return nil
	}
	return []Change{{
		Op: op, Kind: "service", Name: "keepalived", Summary: summary,
		stage: stageService,
		do: func(ctx context.Context, h remote.Host) error {
			if _, err := h.Exec(ctx, script+" 2>&1 >/dev/null\n"); err != nil {
				return fmt.Errorf("keepalived: %w", err)
			}
			return nil
		},
	}}
}
