package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/nodeapi"
)

// ReadFence returns the fencing in force at path, or nil.
func ReadFence(path string) (*nodeapi.FenceRecord, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r nodeapi.FenceRecord
	if err := json.Unmarshal(b, &r); err != nil {
		// A record that cannot be read still fences: fail closed.
		return &nodeapi.FenceRecord{State: "fenced", Reason: "unreadable fence record: " + err.Error()}, nil
	}
	return &r, nil
}

func writeFence(path string, r *nodeapi.FenceRecord) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	// Records and their history stay root-only.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// softFence makes the stale primary refuse writes at once, within the
// check's deadline: new transactions default to read-only and every client
// session (with its open transaction) is ended. The hard fence, stopping the
// database, follows in the rejoin unit.
// Each statement runs on its own: ALTER SYSTEM cannot run in the implicit
// transaction of a multi-statement query.
var softFence = []string{
	`ALTER SYSTEM SET default_transaction_read_only = on`,
	`SELECT pg_reload_conf()`,
	// The reload reaches other sessions asynchronously; ending them makes
	// the fence immediate for every client.
	`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
}

// fenceAt runs the soft fence on the database at host.
func fenceAt(ctx context.Context, cfg nodeapi.Config, password, host string) error {
	c := cfg
	c.Host = host
	for _, stmt := range softFence {
		if _, err := query(ctx, c, password, dbName(cfg), stmt); err != nil {
			return err
		}
	}
	return nil
}

// Fence is run by the keepalived check when Run found this node a stale
// primary: it records the fencing, refuses writes at once and starts the
// rejoin unit without waiting for it. Errors are returned for the report;
// the check fails whatever happens.
func Fence(ctx context.Context, sys System, cfg nodeapi.Config, password string, r nodeapi.Report) error {
	if cfg.FencePath == "" {
		return errors.New("no fence_path in the configuration")
	}
	rec, err := ReadFence(cfg.FencePath)
	if err != nil {
		return err
	}
	if rec == nil {
		rec = &nodeapi.FenceRecord{At: time.Now().UTC(), Node: cfg.Node, Reason: r.Reason, Timeline: r.Timeline, LSN: r.LSN, State: "fenced"}
		if r.Stale != nil {
			rec.Peer, rec.PeerTimeline = r.Stale.Peer, r.Stale.Timeline
		}
		if err := writeFence(cfg.FencePath, rec); err != nil {
			return fmt.Errorf("record fence: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.DeadlineMillis)*time.Millisecond)
	defer cancel()
	var errs []error
	if err := fenceAt(ctx, cfg, password, cfg.Host); err != nil {
		errs = append(errs, fmt.Errorf("refuse writes: %w", err))
	}
	if err := startRejoin(ctx, sys); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// startRejoin starts the rejoin unit without waiting for it: the unit
// waits for the database, the check must not.
func startRejoin(ctx context.Context, sys System) error {
	if err := sys.Systemctl(ctx, "systemctl", "start", "--no-block", nodeapi.RejoinUnit); err != nil {
		return fmt.Errorf("start %s: %w", nodeapi.RejoinUnit, err)
	}
	return nil
}

// ClearFenceIfRejoined removes the fence record once the node's database is
// a standby that streams: the node then takes part in failover again. The
// record is kept in the history next to it.
func ClearFenceIfRejoined(cfg nodeapi.Config, r nodeapi.Report, streaming bool) (bool, error) {
	if cfg.FencePath == "" || r.Role != nodeapi.RoleStandby || !streaming {
		return false, nil
	}
	rec, err := ReadFence(cfg.FencePath)
	if err != nil || rec == nil {
		return false, err
	}
	rec.State = "rejoined"
	rec.Error = ""
	hist := filepath.Join(filepath.Dir(cfg.FencePath), "fence-history", rec.At.Format("20060102T150405Z")+".json")
	if err := writeFence(hist, rec); err != nil {
		return false, err
	}
	return true, os.Remove(cfg.FencePath)
}

// FenceVIPHolder is run, detached, by a passing primary's check when the VIP
// is not on this node: if the database answering at the VIP is a primary on
// an older timeline than ours, it is stale (a promotion happened behind a cut
// that VRRP did not see) and is told to refuse writes. Its own check then
// fails on the read-only setting, its keepalived gives the VIP up, and this
// node, whose check passes, takes it. A VIP that does not answer, or answers
// as a standby or as a primary on our timeline or a newer one, is left alone.
func FenceVIPHolder(ctx context.Context, cfg nodeapi.Config, password string) (string, error) {
	if cfg.VIP == "" {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.DeadlineMillis)*time.Millisecond)
	defer cancel()
	local, err := ask(ctx, cfg, password, cfg.Host, cfg.Port)
	if err != nil || local.role != nodeapi.RolePrimary || local.readOnly {
		return "", err
	}
	holder, err := ask(ctx, cfg, password, cfg.VIP, cfg.Port)
	if err != nil {
		return "", nil // nobody answers at the VIP: nothing to fence
	}
	if holder.role != nodeapi.RolePrimary || holder.timeline >= local.timeline {
		return "", nil
	}
	return fmt.Sprintf("the VIP holder is a primary on older timeline %d (ours %d): told it to refuse writes", holder.timeline, local.timeline),
		fenceAt(ctx, cfg, password, cfg.VIP)
}
