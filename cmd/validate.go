package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/inventory"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [INVENTORY]",
		Short: "Check an inventory without touching any node",
		Long: `validate reads the inventory (default ./inventory.yaml), applies defaults and
reports every problem at once as FILE:LINE: PATH: problem (the first 50, then
how many more). It connects nowhere. Exit status: 0 valid, 1 invalid.`,
		Example: "  haup validate examples/two-node.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := inventoryArg(args)
			// Ctrl-C (root's context) ends a validation at once, even one
			// reading from a pipe.
			inv, warnings, err := inventory.LoadWithWarningsContext(cmd.Context(), path)
			for _, w := range warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "haup: warning: %s\n", w)
			}
			if err != nil {
				return err
			}
			witness := ""
			if inv.HasWitness() {
				witness = ", witness " + inv.Witness.Name
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid: %d nodes%s, VIP %s, initial primary %s\n",
				path, len(inv.Nodes), witness, inv.Keepalived.VirtualIPAddress, inv.Database.Primary)
			fmt.Fprintf(cmd.OutOrStdout(), "note: %s\n", inventory.PartitionNote(inv))
			return nil
		},
	}
}
