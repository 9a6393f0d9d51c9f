package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Zero-loss mode (Config.Synchronous). The primary's check, at every run,
// decides whether commits wait for a standby:
//
//   - A standby streams: commits wait until it has flushed them
//     (synchronous_standby_names = 'ANY 1 (*)', synchronous_commit on), so a
//     failover to it loses no acknowledged write.
//   - No standby has streamed from this primary on its timeline (it was just
//     promoted, or the cluster was just created): no standby can hold
//     writes this primary acknowledged, so none can be promoted past it;
//     commits are asynchronous until one streams ("suspended").
//   - The standby streamed, and now does not, but answers (its database is
//     down, or it runs but does not stream): it cannot be promoted while
//     this primary is visible to it, so commits go on asynchronously
//     ("suspended").
//   - The standby streamed and now does not answer at all: it may be dead,
//     or cut off and about to be promoted. The two cannot be told apart
//     without a third vote, so commits wait ("waiting") rather than be
//     acknowledged and lost. Turning zero-loss mode off (an apply, no
//     restart) lets them through.
//
// A fenced or stale primary never gets here: fencing comes first.

// SyncNames is the value haup sets; haup resets only this value, so a
// setting of the operator's own is left alone.
const SyncNames = "ANY 1 (*)"

// SyncStatePath records, per timeline, whether a standby streamed from this
// primary: it survives a restart of the check, not a new timeline.
const SyncStatePath = "/var/lib/haup/sync.json"

// Sync verdicts, the first word of Report.Sync.
const (
	SyncOn        = "on"
	SyncSuspended = "suspended"
	SyncWaiting   = "waiting"
	SyncOff       = "off"
)

type syncState struct {
	Timeline    int  `json:"timeline"`
	StandbySeen bool `json:"standby_seen"`
}

// ManageSync applies the zero-loss rule on a primary that passed its check
// (or, with Synchronous off, removes haup's setting) and returns the verdict
// for Report.Sync.
func ManageSync(ctx context.Context, cfg Config, password string, r Report) (string, error) {
	// The check's own query read both: no connection unless something changes.
	names, streaming := r.syncNames, r.streaming
	set := func(v string) error {
		stmt := "ALTER SYSTEM RESET synchronous_standby_names"
		if v != "" {
			stmt = "ALTER SYSTEM SET synchronous_standby_names = '" + v + "'"
		}
		if _, err := query(ctx, cfg, password, dbName(cfg), stmt); err != nil {
			return err
		}
		_, err := query(ctx, cfg, password, dbName(cfg), "SELECT pg_reload_conf()")
		return err
	}
	if !cfg.Synchronous {
		if names == SyncNames {
			if err := set(""); err != nil {
				return "", err
			}
		}
		return SyncOff, nil
	}
	path := cfg.SyncStatePath
	if path == "" {
		path = SyncStatePath
	}
	st := readSyncState(path)
	if st.Timeline != r.Timeline {
		st = syncState{Timeline: r.Timeline}
	}
	verdict := ""
	want := ""
	switch {
	case streaming > 0:
		st.StandbySeen = true
		want, verdict = SyncNames, SyncOn+": commits wait until a standby has them"
	case !st.StandbySeen:
		verdict = SyncSuspended + ": no standby has streamed from this primary on timeline " + strconv.Itoa(r.Timeline) + "; commits are asynchronous until one does"
	default:
		answering, silent := peerAnswers(r)
		if len(silent) == 0 {
			verdict = SyncSuspended + ": the standby does not stream but answers (" + strings.Join(answering, ", ") + "), so it cannot be promoted; commits are asynchronous until it streams"
		} else {
			want = SyncNames
			verdict = SyncWaiting + ": " + strings.Join(silent, ", ") + " streamed and does not answer: it may be cut off and promoted, so commits wait for it (database.synchronous: false lets them through)"
		}
	}
	if names != want && (want != "" || names == SyncNames) {
		if err := set(want); err != nil {
			return "", err
		}
	}
	if err := writeSyncState(path, st); err != nil {
		return verdict, err
	}
	return verdict, nil
}

// peerAnswers splits the peers into those whose host answered (a database
// that runs, or a refused connection: the host is up, its database is not)
// and those that did not answer at all.
func peerAnswers(r Report) (answering, silent []string) {
	for _, p := range r.Peers {
		switch {
		case p.Error == "":
			answering = append(answering, p.Name+" "+p.Role)
		case strings.Contains(p.Error, "refused"):
			answering = append(answering, p.Name+" database down")
		default:
			silent = append(silent, p.Name)
		}
	}
	return answering, silent
}

func readSyncState(path string) syncState {
	var st syncState
	b, err := os.ReadFile(path)
	if err != nil {
		return st
	}
	if json.Unmarshal(b, &st) != nil {
		return syncState{}
	}
	return st
}

func writeSyncState(path string, st syncState) error {
	if old := readSyncState(path); old == st {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	b, _ := json.Marshal(st)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("sync state: %w", err)
	}
	return os.Rename(tmp, path)
}
