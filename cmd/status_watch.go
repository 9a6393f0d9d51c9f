package cmd

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/checkbin"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/status"
)

// watchStatus runs `haup status --watch` until Ctrl-C (the command's
// context ends) and exits with the last verdict's code.
func watchStatus(cmd *cobra.Command, inv *inventory.Inventory, invPath string, f *statusFlags) error {
	ctx := cmd.Context()
	out, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	userCfg, cfgErr := readSSHConfig(inv)
	var prev *status.ClusterStatus
	var frames []time.Duration
	w := &status.Watch{
		Inv:      inv,
		Bins:     checkbin.Lookup,
		Options:  status.Options{MaxLag: f.maxLag},
		Interval: f.interval,
		// A round waits for a node an interval, at least 5 s (a loaded
		// node's probe may take seconds), at most the connect timeout:
		// a powered-off node holds the frame up no longer than that.
		Timeout: min(max(f.interval, 5*time.Second), f.conn.timeout),
		Dial: func(ctx context.Context, n inventory.Node) (remote.Host, error) {
			if cfgErr != nil {
				return nil, cfgErr
			}
			c, err := withSSHConfig(sshConfig(inv, n, f.conn), userCfg, n.SSH.Address)
			if err != nil {
				return nil, err
			}
			return remote.Dial(ctx, c)
		},
		Frame: func(cs *status.ClusterStatus, round time.Duration) {
			start := time.Now()
			width, tty := outputWidth(out)
			header := fmt.Sprintf("Every %s: haup status %s  %s", f.interval, invPath, time.Now().UTC().Format("2006-01-02 15:04:05Z"))
			out.Write(status.RenderWatchFrame(prev, cs, status.FrameOptions{
				Width: width, Wide: f.output == outputWide, Terminal: tty, Header: header}))
			prev = cs
			frames = append(frames, round+time.Since(start))
		},
	}
	last, stats := w.Run(ctx)
	if f.conn.sshStats {
		// The same lines as every command's --ssh-stats, summed over the
		// whole watch, and what one frame cost.
		for _, n := range inv.Hosts() {
			s := stats[n.Name]
			fmt.Fprintf(stderr, "haup: ssh: %s: %d connections, %d sessions\n", n.Name, s.Connections, s.Sessions)
		}
		if len(frames) > 0 {
			sorted := slices.Clone(frames)
			slices.Sort(sorted)
			fmt.Fprintf(stderr, "haup: watch: %d frames, median %.1f ms, max %.1f ms\n", len(frames),
				ms(sorted[len(sorted)/2]), ms(sorted[len(sorted)-1]))
		}
	}
	if last == nil {
		return fmt.Errorf("interrupted before the first status was read")
	}
	if code := last.ExitCode(); code != 0 {
		return exitCodeError{code}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
