package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Isolation: with a witness, a primary that can see neither its peer nor the
// witness is in the minority of a partition. It must not keep the VIP or take
// writes: the standby, with the witness, may be promoted on the other side.
//
// The rule, run by the primary's check:
//   - A peer is "seen" when its host answers on the network: its database
//     replied, or its port refused the connection (the host is there, its
//     database is not: a standby being cloned or restarted). The witness is
//     seen only when its database answers, since its vote is its repmgr. A
//     timeout or an unreachable route is "not seen".
//   - A primary that sees neither any peer nor the witness fails the check at
//     once (keepalived drops the VIP after fall checks) and, at the second
//     isolated check in a row, refuses writes: default_transaction_read_only
//     on and every client session ended, as the stale-primary fence does, with
//     a record at IsolationPath.
//   - It is reversible: once a peer's database answers again as a standby,
//     the record is removed and writes are allowed again. A peer that answers
//     as a newer primary makes this node stale instead (fence and rejoin). The
//     witness alone coming back is not enough: the standby may have been
//     promoted meanwhile, so the node stays read-only until it sees its peer
//     as a standby (`haup-check undemote` on the node lifts it by hand).
//
// Without a witness the rule is off: with two nodes, "I see nobody" cannot
// tell a partition from a dead standby, and losing the standby must never
// take the VIP from a healthy primary.

// IsolationPath is where an isolation fence is recorded.
const IsolationPath = "/var/lib/haup/isolation.json"

// IsolationRecord counts isolated checks and says whether writes are refused.
type IsolationRecord struct {
	Since  time.Time `json:"since"`
	Checks int       `json:"checks"`
	// Fenced is set once the node refuses writes because of the isolation.
	Fenced   bool      `json:"fenced,omitempty"`
	FencedAt time.Time `json:"fenced_at,omitempty"`
	Timeline int       `json:"timeline,omitempty"`
}

// isolationChecks is how many isolated checks in a row make a primary refuse
// writes: one lost round of packets is not a partition.
const isolationChecks = 2

func isolationPath(cfg Config) string {
	if cfg.IsolationPath != "" {
		return cfg.IsolationPath
	}
	return IsolationPath
}

// ReadIsolation returns the isolation record in force, or nil.
func ReadIsolation(cfg Config) (*IsolationRecord, error) {
	b, err := os.ReadFile(isolationPath(cfg))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r IsolationRecord
	if err := json.Unmarshal(b, &r); err != nil {
		// Unreadable: treat as fenced, so writes are not resumed blindly.
		return &IsolationRecord{Fenced: true}, nil
	}
	return &r, nil
}

func writeIsolation(cfg Config, r *IsolationRecord) error {
	b, _ := json.Marshal(r)
	return writeAtomic(isolationPath(cfg), append(b, '\n'), 0o600)
}

// seen tells whether an error from reaching a host still shows the host on
// the network: it answered, if only to refuse the connection.
func seen(err error) bool {
	if err == nil {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "SQLSTATE")
}

// askWitness runs SELECT 1 on the witness's database.
func askWitness(ctx context.Context, cfg Config, password string, w Peer) error {
	c := cfg
	c.Host, c.Port = w.Host, w.Port
	_, err := query(ctx, c, password, "postgres", "SELECT 1")
	return err
}

// ManageIsolation applies the rule after a check of a node with a witness.
// r is the check's report (Isolated set by Run); it returns the report with
// the reason and fence state updated.
//
// Without a witness (never configured, or removed while this node was
// isolated) the rule is off, but a refusal it left is still lifted the same
// way, so removing the witness never strands a read-only primary.
func ManageIsolation(ctx context.Context, cfg Config, password string, r Report) Report {
	rec, err := ReadIsolation(cfg)
	if err != nil {
		r.Reason += "; isolation record: " + err.Error()
		return r
	}
	if r.Isolated && cfg.Witness != nil {
		if rec == nil {
			rec = &IsolationRecord{Since: time.Now().UTC(), Timeline: r.Timeline}
		}
		rec.Checks++
		if !rec.Fenced && rec.Checks >= isolationChecks {
			fctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.DeadlineMillis)*time.Millisecond)
			err := fenceAt(fctx, cfg, password, cfg.Host)
			cancel()
			if err != nil {
				r.Reason += "; refusing writes failed: " + err.Error()
			} else {
				rec.Fenced, rec.FencedAt = true, time.Now().UTC()
			}
		}
		if rec.Fenced {
			r.Reason += "; writes refused since " + rec.FencedAt.Format(time.RFC3339)
		}
		if err := writeIsolation(cfg, rec); err != nil {
			r.Reason += "; isolation record: " + err.Error()
		}
		return r
	}
	if rec == nil {
		return r
	}
	// Not isolated any more. Writes come back only when a peer's database
	// answers as a standby (and no peer is a newer primary: that is the
	// stale path, whose fence takes over).
	peerStandby := false
	for _, p := range r.Peers {
		if p.Error == "" && p.Role == RoleStandby {
			peerStandby = true
		}
	}
	switch {
	case !rec.Fenced:
		os.Remove(isolationPath(cfg))
	case r.Stale != nil:
		os.Remove(isolationPath(cfg)) // the stale fence owns the node now
	case r.Role == RolePrimary && peerStandby:
		uctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.DeadlineMillis)*time.Millisecond)
		err := Undemote(uctx, cfg, password)
		cancel()
		if err != nil {
			r.Reason += "; lifting the isolation fence: " + err.Error()
			return r
		}
		os.Remove(isolationPath(cfg))
		r.Reason += "; isolation over (a standby answers): writes allowed again"
	case r.Role == RoleStandby:
		os.Remove(isolationPath(cfg))
	default:
		r.Reason += fmt.Sprintf("; writes refused since %s (isolated); they come back once a peer answers as a standby", rec.FencedAt.Format(time.RFC3339))
	}
	return r
}
