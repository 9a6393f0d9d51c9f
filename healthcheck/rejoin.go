package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// RejoinOptions bound the rejoin.
type RejoinOptions struct {
	// Wait bounds the wait for the restarted database to stream.
	Wait time.Duration
	// Reason is recorded when no fencing is in force (a rejoin asked for by
	// haup apply or an operator).
	Reason string
	Log    io.Writer
}

// currentPrimary asks the peers and returns the primary on the newest
// timeline, or an error when no peer answers as a primary.
func currentPrimary(ctx context.Context, cfg nodeapi.Config, password string) (nodeapi.Peer, probe, error) {
	var best nodeapi.Peer
	var bestP probe
	found := false
	var seen []string
	for _, p := range cfg.Peers {
		got, err := ask(ctx, cfg, password, p.Host, p.Port)
		if err != nil {
			seen = append(seen, p.Name+": "+err.Error())
			continue
		}
		seen = append(seen, fmt.Sprintf("%s: %s on timeline %d", p.Name, got.role, got.timeline))
		if got.role == nodeapi.RolePrimary && (!found || got.timeline > bestP.timeline) {
			best, bestP, found = p, got, true
		}
	}
	if !found {
		return nodeapi.Peer{}, probe{}, fmt.Errorf("no peer answers as a primary (%s)", strings.Join(seen, "; "))
	}
	return best, bestP, nil
}

// Rejoin brings this node back as a standby of the current primary: it
// stops the database (the hard fence), moves its data directory aside
// (never deleting it), starts the container again, which clones from the
// current primary, and waits until the node streams. It refuses to touch a
// database that is the newest primary, and does nothing until a peer answers
// as the primary (so a node cut off from everyone keeps its data and stays
// fenced). It is run by the haup-rejoin unit, which retries on failure.
func Rejoin(ctx context.Context, cfg nodeapi.Config, password string, opts RejoinOptions) (err error) {
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	if cfg.Container == "" || cfg.DataDir == "" || cfg.FencePath == "" {
		return errors.New("the configuration lacks container, data_dir or fence_path")
	}
	rec, err := ReadFence(cfg.FencePath)
	if err != nil {
		return err
	}
	if rec == nil {
		reason := opts.Reason
		if reason == "" {
			reason = "rejoin requested"
		}
		rec = &nodeapi.FenceRecord{At: time.Now().UTC(), Node: cfg.Node, Reason: reason, State: "fenced"}
	}
	defer func() {
		if err != nil {
			rec.State, rec.Error = "waiting", err.Error()
			if werr := writeFence(cfg.FencePath, rec); werr != nil {
				err = errors.Join(err, werr)
			}
		}
	}()
	askCtx, cancel := context.WithTimeout(ctx, time.Duration(cfg.DeadlineMillis)*time.Millisecond)
	peer, peerP, err := currentPrimary(askCtx, cfg, password)
	local, lerr := ask(askCtx, cfg, password, cfg.Host, cfg.Port)
	cancel()
	if err != nil {
		return fmt.Errorf("not rejoining yet: %w", err)
	}
	if lerr == nil && local.role == nodeapi.RolePrimary && local.timeline >= peerP.timeline {
		return fmt.Errorf("refusing: this node is a primary on timeline %d, not older than %s's %d", local.timeline, peer.Name, peerP.timeline)
	}
	if lerr == nil {
		rec.Timeline, rec.LSN = local.timeline, local.lsn
	}
	rec.Peer, rec.PeerTimeline, rec.State, rec.Error = peer.Name, peerP.timeline, "rejoining", ""
	if err := writeFence(cfg.FencePath, rec); err != nil {
		return err
	}
	logf("stopping %s (hard fence; its database shut down cleanly first)", cfg.Container)
	if err := StopContainer(ctx, cfg.Container, 60*time.Second); err != nil {
		return err
	}
	data := filepath.Join(cfg.DataDir, "data")
	if _, err := os.Stat(data); err == nil {
		aside := fmt.Sprintf("%s.diverged-%s", filepath.Clean(cfg.DataDir), time.Now().UTC().Format("20060102T150405Z"))
		if err := os.MkdirAll(aside, 0o700); err != nil {
			return err
		}
		if err := os.Rename(data, filepath.Join(aside, "data")); err != nil {
			return fmt.Errorf("keep the data aside: %w (the database stays stopped)", err)
		}
		rec.KeptAt = aside
		logf("diverged data kept in %s", aside)
		if err := writeFence(cfg.FencePath, rec); err != nil {
			return err
		}
	}
	logf("starting %s: it clones from %s", cfg.Container, peer.Name)
	if out, err := exec.CommandContext(ctx, "docker", "start", cfg.Container).CombinedOutput(); err != nil {
		return fmt.Errorf("docker start %s: %v: %s", cfg.Container, err, strings.TrimSpace(string(out)))
	}
	// The image clones the empty data directory from the primary: the wait
	// lasts as long as the clone makes progress (the data directory
	// grows), and ends after Wait without any.
	wait := opts.Wait
	if wait == 0 {
		wait = 10 * time.Minute
	}
	deadline := time.Now().Add(wait)
	size, lastLog := dirSize(data), time.Now()
	for {
		st := Status(ctx, cfg, password, "")
		switch {
		case st.Role == nodeapi.RoleStandby && len(st.Replication) > 0 && st.Replication[0].State == "streaming":
			if _, err := ClearFenceIfRejoined(cfg, st.Report, true); err != nil {
				return err
			}
			logf("streaming from %s", st.Replication[0].Peer)
			// A clone does not carry this node's pause: a maintenance
			// in force goes on here too.
			if paused, err := KeepMaintenancePause(ctx, cfg, password, nodeapi.RepmgrDatabase); err != nil {
				logf("the maintenance pause of repmgrd's failover could not be set again: %v (`haup pause` sets it)", err)
			} else if paused {
				logf("repmgrd's automatic failover paused again: the maintenance pause is in force")
			}
			return nil
		case st.Role == nodeapi.RolePrimary:
			// The image found no primary while starting and made this
			// node one: stop it again, the fence stays.
			StopContainer(context.WithoutCancel(ctx), cfg.Container, 60*time.Second)
			return errors.New("the database came back as a primary (no primary was reachable while it started): stopped again")
		}
		if now := dirSize(data); now > size {
			if time.Since(lastLog) >= 5*time.Second {
				logf("cloning: %d MiB copied", now>>20)
				lastLog = time.Now()
			}
			size, deadline = now, time.Now().Add(wait)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the database does not stream, and its data directory has not grown for %s (last: %s)", wait, st.Reason)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// dirSize is the size of the files under dir (0 when it cannot be read).
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
