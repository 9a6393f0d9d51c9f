package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/checkbin"
	"github.com/haup-project/haup/drill"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/lab"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/status"
)

func newDrillCmd() *cobra.Command {
	var conn connFlags
	var fault, node string
	var hold, settle time.Duration
	var yes, asJSON bool
	cmd := &cobra.Command{
		Use:   "drill [INVENTORY] --fault FAULT",
		Short: "Fail the primary on purpose and measure what it costs",
		Long: `drill measures a real failover on a healthy cluster. It writes numbered rows
through the VIP (20 a second, each acknowledged or not), watches every node
ten times a second (who holds the VIP, whose database takes writes), injects
the fault on the primary (or --node), undoes it, waits until the cluster is healthy, and
reports: seconds until the VIP was on a writable primary and until the first
acknowledged write, seconds with two VIP holders and with two writable
primaries, and the acknowledged writes missing afterwards.

Faults:
  kill        docker kill of the primary's database container, then start
  stop        docker stop (PostgreSQL dies with repmgrd, the image's PID 1), then start
  freeze      SIGSTOP of the primary's postgres processes for --hold (30 s), then SIGCONT
  keepalived  systemctl stop keepalived on the primary for --hold (10 s), then start
  poweroff    the lab only: the primary's machine off, then on
  partition   the lab only: all traffic between the primary and the other nodes
              dropped for --hold (60 s), then restored

It asks for confirmation unless --yes, refuses a cluster that is not healthy
or paused for maintenance (haup pause), undoes its fault whatever happens, and
drops its table.

Exit status: 0 the guarantees held (one VIP holder and one writable primary at
every sample, no acknowledged write lost in zero-loss mode, writes resumed,
healthy afterwards); 1 error or refusal; 4 a guarantee was broken.`,
		Example: "  haup drill --fault kill inventory.yaml\n  haup drill --fault freeze --hold 20s --yes --json inventory.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := drill.FaultNamed(fault)
			if fault == "" {
				err = fmt.Errorf("--fault is required")
			}
			if err != nil {
				return err
			}
			if hold < 0 || settle < 0 {
				return fmt.Errorf("--hold and --settle must not be negative")
			}
			path := inventoryArg(args)
			inv, err := loadInventory(cmd, path)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			env := drill.Env{
				Inventory: inv,
				Dial:      func(ctx context.Context, node string) (remote.Host, error) { return dialNode(ctx, inv, node, conn) },
				Status: func(ctx context.Context) (*status.ClusterStatus, error) {
					hosts, unreachable := dialAll(ctx, inv, conn)
					defer closer(inv, hosts, conn, io.Discard)()
					return status.ClusterStatusOf(ctx, inv, hosts, unreachable, checkbin.Lookup, status.Options{MaxLag: 30 * time.Second}), nil
				},
				Progress: cmd.ErrOrStderr(),
			}
			if isLabInventory(path) {
				env.Lab = labControl{out: cmd.ErrOrStderr()}
			}
			plan, err := drill.Prepare(ctx, env, drill.Options{Fault: f, Hold: hold, Settle: settle, Node: node})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !asJSON {
				plan.Print(out, inv.Database.ContainerName)
			} else {
				plan.Print(cmd.ErrOrStderr(), inv.Database.ContainerName)
			}
			if !yes {
				if err := confirm(cmd, fmt.Sprintf("Fail %s now? Type yes: ", plan.Target)); err != nil {
					return err
				}
			}
			res, err := drill.Run(ctx, env, plan)
			if err != nil {
				return fmt.Errorf("drill: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				res.Print(out)
			}
			if !res.Held {
				return exitCodeError{4}
			}
			return nil
		},
	}
	conn.register(cmd)
	cmd.Flags().StringVar(&fault, "fault", "", "kill, stop, freeze, keepalived; on the lab also poweroff, partition")
	cmd.Flags().DurationVar(&hold, "hold", 0, "how long the fault lasts (default: freeze 30s, keepalived 10s, partition 60s; others until the failover)")
	cmd.Flags().DurationVar(&settle, "settle", 3*time.Minute, "the longest wait for the failover, and for health after the undo")
	cmd.Flags().StringVar(&node, "node", "", "fail this node instead of the primary (a standby: what losing it costs the primary's writes)")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the figures as JSON (the plan goes to stderr)")
	return cmd
}

// confirm asks on stdin; anything but "yes" (or no terminal answer) refuses.
func confirm(cmd *cobra.Command, prompt string) error {
	fmt.Fprint(cmd.ErrOrStderr(), prompt)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return fmt.Errorf("not confirmed: nothing was done (pass --yes to skip the question)")
	}
	return nil
}

// dialNode opens one SSH connection to the named node.
func dialNode(ctx context.Context, inv *inventory.Inventory, name string, f connFlags) (remote.Host, error) {
	for _, n := range inv.Nodes {
		if n.Name != name {
			continue
		}
		userCfg, err := readSSHConfig(inv)
		if err != nil {
			return nil, err
		}
		c, err := withSSHConfig(sshConfig(inv, n, f), userCfg, n.SSH.Address)
		if err != nil {
			return nil, err
		}
		return remote.Dial(ctx, c)
	}
	return nil, fmt.Errorf("no node %q in the inventory", name)
}

// isLabInventory reports whether path is an inventory of the lab that is up
// (inventory.yaml, or inventory-witness.yaml beside it).
func isLabInventory(path string) bool {
	l := lab.InventoryPath()
	if l == "" || os.Geteuid() != 0 {
		return false
	}
	a, err1 := filepath.Abs(path)
	b, err2 := filepath.Abs(l)
	if err1 != nil || err2 != nil {
		return false
	}
	a, _ = filepath.EvalSymlinks(a)
	b, _ = filepath.EvalSymlinks(b)
	return a == b || a == filepath.Join(filepath.Dir(b), "inventory-witness.yaml")
}

// labControl injects the lab's faults through haup lab.
type labControl struct{ out io.Writer }

func (l labControl) run(ctx context.Context, args ...string) error {
	return lab.Run(ctx, args, l.out, l.out)
}
func (l labControl) PowerOff(ctx context.Context, n string) error { return l.run(ctx, "power-off", n) }
func (l labControl) PowerOn(ctx context.Context, n string) error  { return l.run(ctx, "power-on", n) }
func (l labControl) Cut(ctx context.Context, n, p string) error {
	return l.run(ctx, "cut", n, p, "--all")
}
func (l labControl) Restore(ctx context.Context, n, p string) error {
	return l.run(ctx, "restore", n, p)
}
