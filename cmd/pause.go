package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/apply"
	"github.com/haup-project/haup/tasks"
)

func newPauseCmd() *cobra.Command {
	var f planFlags
	var d time.Duration
	var reason string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "pause [INVENTORY]",
		Short: "Maintenance mode: turn automatic failover off on every node, for a while",
		Long: fmt.Sprintf(`pause turns repmgrd's automatic failover off on every database node, the
primary's too (as repmgr service pause does), for --for (default %s, at least
%s, at most %s). Each node schedules its own resume first (a systemd timer),
so a forgotten pause ends by itself; "haup resume" ends it sooner. Pausing
again replaces the pause, with its new time and reason.

It costs nothing: no restart, no reload, no switchover. While paused, a lost
primary is not failed over: writes stop until it returns, or until "haup
resume" lets repmgrd promote a standby. haup status says degraded and names
the pause; apply keeps it and plans no rolling change; switchover and drill
refuse; a node that rejoins is paused again.

It prints its plan first; --dry-run prints only the plan. It refuses, changing
nothing, a cluster with no primary (a pause would keep writes from coming back
by themselves) and a node whose database does not answer (its repmgrd would
start unpaused). A node that fails to pause undoes the others.

Exit status: 0 paused, 1 error, refusal or bad input.`, tasks.DefaultPause, tasks.MinPause, "7 days (168h)"),
		Example: "  haup pause inventory.yaml --for 2h --reason 'SAN firmware upgrade'\n  haup pause --dry-run inventory.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Bad input is refused before anything connects.
			if err := tasks.CheckPauseInput(d, reason); err != nil {
				return err
			}
			plan, hosts, closeAll, err := f.plan(cmd, args)
			if err != nil {
				return err
			}
			defer closeAll()
			op, err := tasks.PlanPause(plan, d, reason, tasks.Operator(), time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			op.Print(out)
			if dryRun {
				return nil
			}
			if err := apply.RunPause(cmd.Context(), op, hosts, cmd.ErrOrStderr()); err != nil {
				return fmt.Errorf("pause failed: %w", err)
			}
			fmt.Fprintf(out, "\nPaused: automatic failover is off on every node for %s; `haup resume` ends it sooner.\n", d)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().DurationVar(&d, "for", tasks.DefaultPause, "how long the pause lasts before it ends by itself (20s to 168h)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, shown by haup status (one line, at most 200 bytes)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan only")
	return cmd
}

func newResumeCmd() *cobra.Command {
	var f planFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "resume [INVENTORY]",
		Short: "End maintenance mode: automatic failover on again on every node",
		Long: `resume turns repmgrd's automatic failover on again on every node where it is
paused (by haup pause, or left by a switchover that did not end), and removes
each node's scheduled resume. It costs nothing: no restart, no reload. From
then on a lost primary is failed over as usual.

It prints its plan first; --dry-run prints only the plan. It refuses a cluster
where no node is paused. A node whose database does not answer cannot be
resumed now: it is named, and its own timer still resumes it.

Exit status: 0 resumed, 1 error or refusal.`,
		Example: "  haup resume inventory.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, hosts, closeAll, err := f.plan(cmd, args)
			if err != nil {
				return err
			}
			defer closeAll()
			op, err := tasks.PlanResume(plan, time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			op.Print(out)
			if dryRun {
				return nil
			}
			if err := apply.RunResume(cmd.Context(), op, hosts, cmd.ErrOrStderr()); err != nil {
				return fmt.Errorf("resume failed: %w", err)
			}
			fmt.Fprintln(out, "\nResumed: repmgrd fails over again on every node.")
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan only")
	return cmd
}
