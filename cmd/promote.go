package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/apply"
	"github.com/haup-project/haup/checkbin"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/status"
	"github.com/haup-project/haup/tasks"
)

func newPromoteCmd() *cobra.Command {
	var f connFlags
	var accept, dryRun bool
	cmd := &cobra.Command{
		Use:   "promote NODE [INVENTORY]",
		Short: "Promote a standby when no primary is left and its promotion gate refuses",
		Long: `promote makes NODE, a standby, the primary of a cluster that has none: the
decision that haup and repmgrd do not take alone when the standby may lack
acknowledged writes (its promotion gate refuses: in zero-loss mode it was not in
sync when the primary was lost; in asynchronous mode it is beyond
database.max_lag_on_failover). The plan says what it may lack, as far as its
gate knows; --accept-data-loss is required when the gate refuses.

It refuses a node that is not a standby answering, the witness, an unknown node,
and any cluster where a database answers as primary (use haup switchover).
Unreachable nodes are expected (the old primary is usually the one lost): when
it comes back, its start gate keeps its data aside and it rejoins as a standby.

Exit status: 0 promoted, 1 error or refusal.`,
		Example: "  haup promote pg-1 --accept-data-loss inventory.yaml\n  haup promote --dry-run pg-1",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			node := args[0]
			inv, err := loadInventory(cmd, inventoryArg(args[1:]))
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			hosts, unreachable := dialAll(ctx, inv, f)
			defer closer(inv, hosts, f, cmd.ErrOrStderr())()
			st := status.ClusterStatusOf(ctx, inv, hosts, unreachable, checkbin.Lookup, status.Options{})
			d, err := tasks.DecidePromote(st, node, accept)
			out := cmd.OutOrStdout()
			if err != nil {
				return err
			}
			d.Print(out)
			if dryRun {
				return nil
			}
			if err := apply.Promote(ctx, hosts[node], d, "haup promote"); err != nil {
				return fmt.Errorf("promote failed: %w", err)
			}
			// The VIP follows at keepalived's next check.
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				ns := status.NodeStatusOf(ctx, hosts[node], inv, nodeNamed(inv, node), checkbin.Lookup)
				if ns.Role == nodeapi.RolePrimary && ns.HoldsVIP {
					fmt.Fprintf(out, "\nPromoted: %s is the primary and holds the VIP.\n", node)
					return nil
				}
				time.Sleep(500 * time.Millisecond)
			}
			return fmt.Errorf("%s was promoted, but does not hold the VIP after 30 s: see haup status", node)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&accept, "accept-data-loss", false, "promote although the node's promotion gate refuses (it may lack acknowledged writes)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan only")
	return cmd
}

// nodeNamed is the inventory's node of that name (DecidePromote found it).
func nodeNamed(inv *inventory.Inventory, name string) inventory.Node {
	for _, n := range inv.Nodes {
		if n.Name == name {
			return n
		}
	}
	return inventory.Node{Name: name}
}
