package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/apply"
	"github.com/haup-project/haup/checkbin"
	"github.com/haup-project/haup/tasks"
)

// planFlags are shared by diff and apply, which build the same plan.
type planFlags struct {
	conn                connFlags
	allowPrimaryRestart bool
	removeKept          bool
	noColor             bool
}

func (f *planFlags) register(cmd *cobra.Command) {
	f.conn.register(cmd)
	cmd.Flags().BoolVar(&f.allowPrimaryRestart, "allow-primary-restart", false,
		"allow recreating the container of a node that runs (or may run) the primary database")
	cmd.Flags().BoolVar(&f.noColor, "no-color", false, "never colour the output")
}

// registerRemoveKept adds --remove-kept (diff and apply only).
func (f *planFlags) registerRemoveKept(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.removeKept, "remove-kept", false, "plan the removal of the data directories kept aside on the nodes (diverged copies, listed by haup status)")
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
	plan, err := tasks.PlanCluster(ctx, inv, hosts, checkbin.Lookup, tasks.Options{AllowPrimaryRestart: f.allowPrimaryRestart, RemoveKept: f.removeKept})
	if err != nil {
		closeAll()
		return nil, nil, nil, err
	}
	return plan, hosts, closeAll, nil
}

// fileSHA256 is the hash of a file's bytes.
func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

func newDiffCmd() *cobra.Command {
	var f planFlags
	var out string
	cmd := &cobra.Command{
		Use:   "diff [INVENTORY]",
		Short: "Show what apply would change, changing nothing",
		Long: `diff connects to every node, gathers its actual state and prints the plan:
+ create, ~ change, -/+ replace, with unified diffs of files (secrets masked)
and what will be reloaded or restarted, then one summary line. With nothing to
change, that line is "No changes. The cluster matches the inventory." only when
the nodes' answers make a healthy cluster, judged as haup status judges them;
otherwise it says the cluster is degraded or critical, and why.

With -out FILE the plan is also saved, with a fingerprint of every node's
observed state; "haup apply FILE" then carries out exactly that plan, or
refuses, naming the node, if anything changed since. The file holds no secret.

Exit status: 0 nothing to change (see the summary line for the cluster's
health), 2 changes are pending, 1 error.`,
		Example: "  haup diff inventory.yaml\n  haup diff --accept-new-host-keys inventory.yaml\n  haup diff -out plan.json inventory.yaml && haup apply plan.json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, _, closeAll, err := f.plan(cmd, args)
			if err != nil {
				return err
			}
			defer closeAll()
			w := cmd.OutOrStdout()
			plan.Print(w, tasks.Style{Color: !f.noColor && colorOK(w)})
			if out != "" {
				sum, err := fileSHA256(plan.Inventory.Path)
				if err != nil {
					return err
				}
				if err := plan.Save(out, sum); err != nil {
					return fmt.Errorf("save the plan: %w", err)
				}
				fmt.Fprintf(w, "\nSaved the plan to %s: haup apply %s carries out exactly this plan.\n", out, out)
			}
			if !plan.Empty() {
				return exitCodeError{ExitChanges}
			}
			return nil
		},
	}
	f.register(cmd)
	f.registerRemoveKept(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "save the plan to this file for haup apply FILE")
	return cmd
}

func newApplyCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "apply [INVENTORY | PLAN_FILE]",
		Short: "Make the nodes match the inventory",
		Long: `apply builds the same plan as diff, prints it, then carries out exactly that
plan: nodes in parallel, the initial (or current) primary's database before the
standbys', keepalived reloaded rather than restarted when its configuration
changes. Progress goes to stderr as "node: ..."; a recap follows.

A plan that would recreate the container of the running primary stops before
changing anything unless --allow-primary-restart is given.

While automatic failover is paused for maintenance (haup pause), apply keeps
the pause and plans no rolling change (its switchover would end the pause):
the primary's new container waits for haup resume, or restarts in place with
--allow-primary-restart (writes stop meanwhile; no failover races it).

Given a plan saved by "haup diff -out FILE", apply gathers every node again and
carries out that plan only if every node is in the state the plan saw and the
plan is the same; otherwise it refuses, naming the node, and changes nothing.

Exit status: 0 success (including nothing to do), 1 error.`,
		Example: "  haup apply inventory.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A saved plan (haup diff -out FILE) names its inventory.
			var saved *tasks.SavedPlan
			if len(args) == 1 && isSavedPlan(args[0]) {
				sp, err := tasks.LoadSavedPlan(args[0])
				if err != nil {
					return err
				}
				saved, args = sp, []string{sp.Inventory}
			}
			plan, hosts, closeAll, err := f.plan(cmd, args)
			if err != nil {
				return err
			}
			defer closeAll()
			if saved != nil {
				sum, err := fileSHA256(plan.Inventory.Path)
				if err != nil {
					return err
				}
				if err := saved.Check(plan, sum); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			plan.Print(out, tasks.Style{Color: !f.noColor && colorOK(out)})
			if plan.Empty() {
				return nil
			}
			recaps, err := apply.Apply(cmd.Context(), plan, hosts, apply.Options{Progress: progressOut(cmd)})
			fmt.Fprintln(out)
			apply.PrintRecap(out, recaps)
			if err != nil {
				return fmt.Errorf("apply failed: %w", err)
			}
			return nil
		},
	}
	f.register(cmd)
	f.registerRemoveKept(cmd)
	return cmd
}

// isSavedPlan tells a plan file from an inventory by its content.
func isSavedPlan(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 || b[0] != '{' {
		return false
	}
	var probe struct {
		Nodes map[string]string `json:"nodes"`
		Lines []string          `json:"lines"`
	}
	return json.Unmarshal(b, &probe) == nil && probe.Nodes != nil
}
