package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

const defaultInventory = "inventory.yaml"

// inventoryArg is the inventory path: the first argument or ./inventory.yaml.
func inventoryArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return defaultInventory
}

// loadInventory reads and validates the inventory, printing warnings.
func loadInventory(cmd *cobra.Command, path string) (*inventory.Inventory, error) {
	inv, warnings, err := inventory.LoadWithWarnings(path)
	for _, w := range warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "haup: warning: %s\n", w)
	}
	if err != nil {
		return nil, err
	}
	// haup's own CA and certificate (database.tls without files): created,
	// or issued again, before anything is planned from them.
	did, err := tasks.PrepareTLS(inv, time.Now())
	if err != nil {
		return nil, err
	}
	if did != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "haup: database.tls: %s\n", did)
	}
	return inv, nil
}

// connFlags are the flags of commands that connect to nodes.
type connFlags struct {
	acceptNewHostKeys bool
	timeout           time.Duration
	// sshStats prints each node's SSH connection and session counts when the
	// connections close (for benchmarks).
	sshStats bool
}

func (f *connFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.acceptNewHostKeys, "accept-new-host-keys", false,
		"trust and record the host key of a node not yet in known_hosts (a changed key is still refused)")
	cmd.Flags().DurationVar(&f.timeout, "connect-timeout", 10*time.Second, "how long to wait for each node's SSH connection")
	cmd.Flags().BoolVar(&f.sshStats, "ssh-stats", false, "print SSH connections and sessions per node on exit")
	cmd.Flags().MarkHidden("ssh-stats")
}

// dialAll opens one SSH connection per node, in parallel, each bounded by
// the connect timeout. It returns the connections made and, by node, the
// errors of those that failed.
func dialAll(ctx context.Context, inv *inventory.Inventory, f connFlags) (tasks.Hosts, map[string]error) {
	hosts := tasks.Hosts{}
	failed := map[string]error{}
	userCfg, cfgErr := readSSHConfig(inv)
	var mu sync.Mutex
	// Every node's error: status reports the unreachable nodes beside the
	// others, and connect names every node that failed.
	var wg sync.WaitGroup
	for _, n := range inv.Hosts() {
		if cfgErr != nil {
			failed[n.Name] = cfgErr
			continue
		}
		wg.Go(func() {
			c, err := withSSHConfig(sshConfig(inv, n, f), userCfg, n.SSH.Address)
			var h *remote.SSHHost
			if err == nil {
				h, err = remote.Dial(ctx, c)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[n.Name] = err
				return
			}
			hosts[n.Name] = h
		})
	}
	wg.Wait()
	return hosts, failed
}

// closer closes every connection, first printing their SSH statistics when
// --ssh-stats asked for them.
func closer(inv *inventory.Inventory, hosts tasks.Hosts, f connFlags, stderr io.Writer) func() {
	return func() {
		for _, n := range inv.Hosts() {
			h, ok := hosts[n.Name]
			if !ok {
				continue
			}
			if st, ok := h.(interface{ Stats() remote.Stats }); ok && f.sshStats {
				s := st.Stats()
				fmt.Fprintf(stderr, "haup: ssh: %s: %d connections, %d sessions\n", n.Name, s.Connections, s.Sessions)
			}
			h.Close()
		}
	}
}

// connect opens one SSH connection per node, all of which must succeed; on
// error every connection already made is closed.
func connect(ctx context.Context, inv *inventory.Inventory, f connFlags, stderr io.Writer) (tasks.Hosts, func(), error) {
	hosts, failed := dialAll(ctx, inv, f)
	closeAll := closer(inv, hosts, f, stderr)
	var errs []error
	for _, n := range inv.Hosts() {
		if err, ok := failed[n.Name]; ok {
			errs = append(errs, fmt.Errorf("%s: %w", n.Name, err))
		}
	}
	if len(errs) > 0 {
		closeAll()
		return nil, nil, errors.Join(errs...)
	}
	return hosts, closeAll, nil
}

func sshConfig(inv *inventory.Inventory, n inventory.Node, f connFlags) remote.SSHConfig {
	jumps := inv.SSH.ProxyJump
	if len(n.SSH.ProxyJump) > 0 {
		jumps = n.SSH.ProxyJump
	}
	var hops []remote.Jump
	for _, j := range jumps {
		// Validated when the inventory was loaded.
		user, host, port, _ := inventory.ParseJump(j)
		hops = append(hops, remote.Jump{User: user, Address: host, Port: port})
	}
	return remote.SSHConfig{
		Jumps:             hops,
		Name:              n.Name,
		Address:           n.SSH.Address,
		Port:              n.SSH.Port,
		User:              n.SSH.User,
		IdentityFiles:     inv.SSH.IdentityFiles,
		Agent:             inv.SSH.Agent,
		KnownHostsFile:    inv.SSH.KnownHosts,
		AcceptNewHostKeys: f.acceptNewHostKeys,
		ConnectTimeout:    f.timeout,
	}
}

// colorOK reports whether w is a terminal that may get colour.
func colorOK(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
