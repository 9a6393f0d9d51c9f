package cmd

import "github.com/spf13/cobra"

// subcommands lists every command haup has, in help order.
func subcommands() []*cobra.Command {
	return []*cobra.Command{
		newValidateCmd(),
		newRenderCmd(),
		newDiffCmd(),
		newApplyCmd(),
		newStatusCmd(),
		newRejoinCmd(),
		newSwitchoverCmd(),
		newPromoteCmd(),
		newPauseCmd(),
		newResumeCmd(),
		newDrillCmd(),
		newLabCmd(),
		newVersionCmd(),
	}
}
