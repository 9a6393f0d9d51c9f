// Package cmd is haup's command line: one file per command.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes shared by all commands. diff uses ExitChanges when changes are
// pending (as terraform plan -detailed-exitcode does).
const (
	ExitOK      = 0
	ExitError   = 1
	ExitChanges = 2
)

// exitCodeError lets a command choose its exit code without printing an error.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs haup with args and returns the process exit code. Errors are
// printed once, as "haup: ...".
func Main(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(terraformFlags(args))
	// Ctrl-C cancels the context: remote commands end, nothing new starts.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	var ec exitCodeError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ec):
		return ec.code
	default:
		fmt.Fprintf(stderr, "haup: %v\n", err)
		return ExitError
	}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "haup",
		Short: "Build and keep a highly available PostgreSQL pair behind a virtual IP",
		Long: `haup turns two or more servers with Docker into a PostgreSQL (TimescaleDB)
primary/standby cluster managed by repmgr, behind a keepalived virtual IP that
always points at the writable primary. Everything comes from one inventory file.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	for _, c := range subcommands() {
		root.AddCommand(c)
	}
	return root
}

// terraformFlags accepts Terraform's single-dash spelling of -out (haup diff
// -out FILE), which pflag would read as the shorthands -o -u -t.
func terraformFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case a == "-out":
			a = "--out"
		case strings.HasPrefix(a, "-out="):
			a = "-" + a
		}
		out[i] = a
	}
	return out
}
