package cmd

import "github.com/spf13/cobra"

// newLabCmd is replaced by the lab's command (owned by the lab work).
func newLabCmd() *cobra.Command {
	return &cobra.Command{Use: "lab", Short: "Local test clusters (not built yet)", Hidden: true}
}
