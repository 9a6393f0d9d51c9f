package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/apply"
	"github.com/haup-project/haup/tasks"
)

func newRejoinCmd() *cobra.Command {
	var f planFlags
	var dryRun, clone bool
	cmd := &cobra.Command{
		Use:   "rejoin NODE [INVENTORY]",
		Short: "Bring a node back as a standby of the current primary",
		Long: `rejoin brings NODE back as a standby of the current primary and waits until it
streams. A node that is not a primary and not fenced (a stopped or lagging
standby) first restarts on the data it has, pointed at the current primary: no
clone when its WAL is part of the primary's history. Otherwise, or when that does
not stream within 45 s, or with --clone, it stops NODE's database, moves its data
directory aside (never deleted: DATA_DIR.diverged-<time>), and starts it again so
that it clones from the current primary: what the health check does by itself to
a stale primary.

It refuses the current primary, and a cluster without exactly one current
primary. The plan is printed first; --dry-run prints only the plan. During a
maintenance pause (haup pause), a node that rejoined by a clone is paused
again.

Exit status: 0 success, 1 error or refusal.`,
		Example: "  haup rejoin pg-1 inventory.yaml\n  haup rejoin --dry-run pg-1",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			node := args[0]
			full, hosts, closeAll, err := f.plan(cmd, args[1:])
			if err != nil {
				return err
			}
			defer closeAll()
			plan, err := tasks.RejoinPlanWith(full, node, clone)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			plan.Print(out, tasks.Style{Color: !f.noColor && colorOK(out)})
			if dryRun {
				return nil
			}
			recaps, err := apply.Apply(cmd.Context(), plan, hosts, apply.Options{Progress: progressOut(cmd), Operation: "rejoin"})
			fmt.Fprintln(out)
			apply.PrintRecap(out, recaps)
			if err != nil {
				return fmt.Errorf("rejoin failed: %w", err)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan only")
	cmd.Flags().BoolVar(&clone, "clone", false, "clone at once, even when the node could follow on the data it has")
	return cmd
}
