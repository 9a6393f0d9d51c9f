package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/apply"
	"github.com/haup-project/haup/tasks"
)

func newSwitchoverCmd() *cobra.Command {
	var f planFlags
	var to string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "switchover [INVENTORY]",
		Short: "Move the primary role to a standby, losing no acknowledged write",
		Long: `switchover moves the primary role from the current primary to a streaming
standby (--to NODE, or the only standby): the primary refuses writes, the
standby replays everything the primary acknowledged, it is promoted, the VIP
follows it, and the old primary rejoins as its standby. haup drives every step
over its own SSH connections; the database nodes need no SSH between them.

It prints its plan first; --dry-run prints only the plan. It refuses a cluster
that is not healthy, with the reason, and one paused for maintenance (haup
pause: the switchover's own resume would end the pause; haup resume first). If a step fails before the promotion, the
old primary takes writes again; after it, the new primary stays the one
writable primary and the message says how to finish.

Exit status: 0 success, 1 error or refusal.`,
		Example: "  haup switchover inventory.yaml\n  haup switchover --to pg-1 --dry-run inventory.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, hosts, closeAll, err := f.plan(cmd, args)
			if err != nil {
				return err
			}
			defer closeAll()
			sw, err := tasks.PlanSwitchover(plan, to)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			sw.Print(out)
			if dryRun {
				return nil
			}
			res, err := apply.RunSwitchover(cmd.Context(), sw, hosts, progressOut(cmd))
			if err != nil {
				return fmt.Errorf("switchover failed: %w", err)
			}
			how := "without a clone"
			if res.FullClone {
				how = "by a full clone, its old data kept aside"
			}
			fmt.Fprintf(out, "\nSwitchover done: %s is the primary; writes were refused for %.1f s; %s rejoined in %.1f s, %s.\n",
				sw.To.Node.Name, res.Outage.Seconds(), sw.From.Node.Name, res.Rejoin.Seconds(), how)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&to, "to", "", "the standby that becomes the primary (default: the only standby)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan only")
	return cmd
}
