package cmd

import (
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/checkbin"
	"github.com/haup-project/haup/tasks"
)

func newStatusCmd() *cobra.Command {
	var conn connFlags
	var asJSON bool
	var maxLag time.Duration
	cmd := &cobra.Command{
		Use:   "status [INVENTORY]",
		Short: "Show who is primary, who holds the VIP, and whether anything is wrong",
		Long: `status asks every node at once (one SSH round trip each) and prints one table:
reachable, keepalived's VRRP state, VIP holder, database role and timeline,
replication and lag, repmgr's view, container, and the last health check.
keepalived FAULT on a standby is normal: its check fails so it never takes
the VIP.

A verdict line follows: healthy; degraded (a node unreachable, a database
down, replication broken or lagging, keepalived stopped); or critical (no VIP
holder, the VIP on a node that is not the primary, two primaries, two VIP
holders).

Exit status: 0 healthy, 1 error, 2 degraded, 3 critical.`,
		Example: "  haup status inventory.yaml\n  haup status --json inventory.yaml | jq .verdict",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := loadInventory(cmd, inventoryArg(args))
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			// An unreachable node is part of the answer, not an error.
			hosts, unreachable := dialAll(ctx, inv, conn)
			defer closer(inv, hosts, conn, cmd.ErrOrStderr())()
			st := tasks.ClusterStatusOf(ctx, inv, hosts, unreachable, checkbin.Lookup, tasks.StatusOptions{MaxLag: maxLag})
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				st.Print(out)
			}
			if code := st.ExitCode(); code != 0 {
				return exitCodeError{code}
			}
			return nil
		},
	}
	conn.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	cmd.Flags().DurationVar(&maxLag, "max-lag", 30*time.Second, "replication lag above which the cluster is degraded")
	return cmd
}
