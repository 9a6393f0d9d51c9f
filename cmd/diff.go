package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/checkbin"
	"github.com/haup-project/haup/tasks"
)

// planFlags are shared by diff and apply, which build the same plan.
type planFlags struct {
	conn                connFlags
	allowPrimaryRestart bool
	noColor             bool
}

func (f *planFlags) register(cmd *cobra.Command) {
	f.conn.register(cmd)
	cmd.Flags().BoolVar(&f.allowPrimaryRestart, "allow-primary-restart", false,
		"allow recreating the container of a node that runs (or may run) the primary database")
	cmd.Flags().BoolVar(&f.noColor, "no-color", false, "never colour the output")
}

// plan loads the inventory, connects to every node and builds the plan.
func (f *planFlags) plan(cmd *cobra.Command, args []string) (*tasks.Plan, tasks.Hosts, func(), error) {
	inv, err := loadInventory(cmd, inventoryArg(args))
	if err != nil {
		return nil, nil, nil, err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	hosts, closeAll, err := connect(ctx, inv, f.conn, cmd.ErrOrStderr())
	if err != nil {
		return nil, nil, nil, err
	}
	plan, err := tasks.PlanCluster(ctx, inv, hosts, checkbin.Lookup, tasks.Options{AllowPrimaryRestart: f.allowPrimaryRestart})
	if err != nil {
		closeAll()
		return nil, nil, nil, err
	}
	return plan, hosts, closeAll, nil
}

func newDiffCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "diff [INVENTORY]",
		Short: "Show what apply would change, changing nothing",
		Long: `diff connects to every node, gathers its actual state and prints the plan:
+ create, ~ change, -/+ replace, with unified diffs of files (secrets masked)
and what will be reloaded or restarted, then one summary line.

Exit status: 0 the cluster matches the inventory, 2 changes are pending,
1 error.`,
		Example: "  haup diff inventory.yaml\n  haup diff --accept-new-host-keys inventory.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, _, closeAll, err := f.plan(cmd, args)
			if err != nil {
				return err
			}
			defer closeAll()
			out := cmd.OutOrStdout()
			plan.Print(out, tasks.Style{Color: !f.noColor && colorOK(out)})
			if !plan.Empty() {
				return exitCodeError{ExitChanges}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newApplyCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "apply [INVENTORY]",
		Short: "Make the nodes match the inventory",
		Long: `apply builds the same plan as diff, prints it, then carries out exactly that
plan: nodes in parallel, the initial (or current) primary's database before the
standbys', keepalived reloaded rather than restarted when its configuration
changes. Progress goes to stderr as "node: ..."; a recap follows.

A plan that would recreate the container of the running primary stops before
changing anything unless --allow-primary-restart is given.

Exit status: 0 success (including nothing to do), 1 error.`,
		Example: "  haup apply inventory.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, hosts, closeAll, err := f.plan(cmd, args)
			if err != nil {
				return err
			}
			defer closeAll()
			out := cmd.OutOrStdout()
			plan.Print(out, tasks.Style{Color: !f.noColor && colorOK(out)})
			if plan.Empty() {
				return nil
			}
			recaps, err := tasks.Apply(cmd.Context(), plan, hosts, tasks.ApplyOptions{Progress: cmd.ErrOrStderr()})
			fmt.Fprintln(out)
			tasks.PrintRecap(out, recaps)
			if err != nil {
				return fmt.Errorf("apply failed: %w", err)
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
