package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/haup-project/haup/checkbin"
	"github.com/haup-project/haup/status"
)

// statusFlags are status's own flags.
type statusFlags struct {
	conn     connFlags
	asJSON   bool
	output   string
	maxLag   time.Duration
	watch    bool
	interval time.Duration
}

// Output formats of status -o.
const (
	outputTable = ""
	outputWide  = "wide"
	outputJSON  = "json"
)

// check refuses flags that make no sense, before anything is read or
// contacted.
func (f *statusFlags) check(cmd *cobra.Command) error {
	if cmd.Flags().Changed("output") && f.output != outputWide && f.output != outputJSON {
		return fmt.Errorf("--output %q: unknown format (one of: %s, %s)", f.output, outputWide, outputJSON)
	}
	if f.asJSON && f.output == outputWide {
		return fmt.Errorf("--json and -o %s: choose one", outputWide)
	}
	if f.output == outputJSON {
		f.asJSON = true
	}
	if cmd.Flags().Changed("interval") {
		if f.interval <= 0 {
			return fmt.Errorf("--interval must be positive, got %s", f.interval)
		}
		if !f.watch {
			return fmt.Errorf("--interval is for --watch")
		}
	}
	if f.watch && f.asJSON {
		return fmt.Errorf("--watch draws the table: it does not print JSON (poll `haup status --json` instead)")
	}
	return nil
}

func newStatusCmd() *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status [INVENTORY]",
		Short: "Show who is primary, who holds the VIP, and whether anything is wrong",
		Long: `status asks every node at once (one SSH round trip each) and prints one table:
the database role, the VIP holder, keepalived's VRRP state, the timeline, how
far a standby is behind (bytes of WAL still to replay, and the replay delay
only when there is WAL to replay: an idle standby is "0 B"), and the last
health check's verdict. keepalived FAULT on a standby is normal: its check
fails so it never takes the VIP. Lines below the table say what else is
wrong or worth knowing about a node.

The table fits the terminal's width (80 columns when the output is not a
terminal, or COLUMNS when set): the container's state, replication, versions
(PostgreSQL, TimescaleDB, keepalived), the check's reason and the image are
added as they fit; -o wide shows them all. --json (or -o json) carries
everything in full.

A verdict line follows: healthy; degraded (a node unreachable, a database
down, replication broken or lagging, keepalived stopped); or critical (no VIP
holder, the VIP on a node that is not the primary, two primaries, two VIP
holders).

--watch redraws the status every --interval (in place on a terminal, with
what changed since the last frame highlighted; appended, with changed cells
marked '*', otherwise), over one SSH connection per node for the whole watch
(a node that drops is shown unreachable and reconnected, with backoff).
Ctrl-C ends it with the exit status of the last verdict.

Exit status: 0 healthy, 1 error, 2 degraded, 3 critical.`,
		Example: "  haup status inventory.yaml\n  haup status -o wide inventory.yaml\n  haup status --watch --interval 1s inventory.yaml\n  haup status --json inventory.yaml | jq .verdict",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			invPath := inventoryArg(args)
			inv, err := loadInventory(cmd, invPath)
			if err != nil {
				return err
			}
			if f.watch {
				return watchStatus(cmd, inv, invPath, &f)
			}
			ctx := cmd.Context()
			// An unreachable node is part of the answer, not an error.
			hosts, unreachable := dialAll(ctx, inv, f.conn)
			defer closer(inv, hosts, f.conn, cmd.ErrOrStderr())()
			st := status.ClusterStatusOf(ctx, inv, hosts, unreachable, checkbin.Lookup, status.Options{MaxLag: f.maxLag})
			if err := printStatus(cmd.OutOrStdout(), st, &f); err != nil {
				return err
			}
			if code := st.ExitCode(); code != 0 {
				return exitCodeError{code}
			}
			return nil
		},
	}
	f.conn.register(cmd)
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the status as JSON")
	cmd.Flags().StringVarP(&f.output, "output", "o", outputTable, "output format: wide (every column) or json")
	cmd.Flags().DurationVar(&f.maxLag, "max-lag", status.DefaultMaxLag, "replication lag above which the cluster is degraded")
	cmd.Flags().BoolVarP(&f.watch, "watch", "w", false, "redraw the status every --interval until Ctrl-C")
	cmd.Flags().DurationVar(&f.interval, "interval", 2*time.Second, "time between two frames of --watch")
	return cmd
}

// printStatus writes st in the format the flags ask for.
func printStatus(out io.Writer, st *status.ClusterStatus, f *statusFlags) error {
	if f.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	width, _ := outputWidth(out)
	st.Print(out, status.TableOptions{Width: width, Wide: f.output == outputWide})
	return nil
}

// outputWidth is the width the table may fill on out and whether out is a
// terminal: the terminal's width; else COLUMNS when set (watch(1) sets it);
// else status.DefaultWidth.
func outputWidth(out io.Writer) (int, bool) {
	if fd, ok := out.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(fd.Fd())) {
		if w, _, err := term.GetSize(int(fd.Fd())); err == nil && w > 0 {
			return w, true
		}
		return envColumns(), true
	}
	return envColumns(), false
}

func envColumns() int {
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		return c
	}
	return status.DefaultWidth
}
