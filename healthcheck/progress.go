package healthcheck

import (
	"context"
	"fmt"
	"strconv"
)

// CloneProgress is what `haup-check progress clone` prints for haup, on a
// node that clones: the base backups the current primary is sending, from
// its pg_stat_progress_basebackup (PostgreSQL 13 and later).
type CloneProgress struct {
	// Primary is the current primary's name.
	Primary string       `json:"primary,omitempty"`
	Backups []BaseBackup `json:"backups"`
	// Error says why nothing could be read (no primary answers, the view
	// could not be queried).
	Error string `json:"error,omitempty"`
}

// BaseBackup is one row of the primary's pg_stat_progress_basebackup.
type BaseBackup struct {
	PID int `json:"pid"`
	// Client is the address the backup is sent to (pg_stat_activity's
	// client_addr), empty when unknown.
	Client string `json:"client"`
	Phase  string `json:"phase"`
	// Total is the estimated size; nil when the primary does not estimate
	// it (pg_basebackup --no-estimate-size).
	Total    *int64 `json:"total,omitempty"`
	Streamed int64  `json:"streamed"`
}

const baseBackupQuery = `SELECT b.pid, coalesce(host(a.client_addr), ''), b.phase, coalesce(b.backup_total::text, ''), b.backup_streamed
FROM pg_stat_progress_basebackup b LEFT JOIN pg_stat_activity a ON a.pid = b.pid ORDER BY b.pid`

// CloneProgressOf asks the current primary (the peer answering as primary
// on the newest timeline) which base backups it sends.
func CloneProgressOf(ctx context.Context, cfg Config, password string) CloneProgress {
	peer, _, err := currentPrimary(ctx, cfg, password)
	if err != nil {
		return CloneProgress{Error: err.Error()}
	}
	at := cfg
	at.Host, at.Port = peer.Host, peer.Port
	rows, err := query(ctx, at, password, dbName(cfg), baseBackupQuery)
	if err != nil {
		return CloneProgress{Primary: peer.Name, Error: err.Error()}
	}
	backups, err := parseBaseBackups(rows)
	if err != nil {
		return CloneProgress{Primary: peer.Name, Error: err.Error()}
	}
	return CloneProgress{Primary: peer.Name, Backups: backups}
}

func parseBaseBackups(rows [][]string) ([]BaseBackup, error) {
	out := []BaseBackup{}
	for _, r := range rows {
		if len(r) != 5 {
			return nil, fmt.Errorf("pg_stat_progress_basebackup: %d columns, want 5", len(r))
		}
		b := BaseBackup{Client: r[1], Phase: r[2]}
		var err error
		if b.PID, err = strconv.Atoi(r[0]); err != nil {
			return nil, fmt.Errorf("pg_stat_progress_basebackup: pid %q", r[0])
		}
		if r[3] != "" {
			t, err := strconv.ParseInt(r[3], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("pg_stat_progress_basebackup: backup_total %q", r[3])
			}
			b.Total = &t
		}
		if b.Streamed, err = strconv.ParseInt(r[4], 10, 64); err != nil {
			return nil, fmt.Errorf("pg_stat_progress_basebackup: backup_streamed %q", r[4])
		}
		out = append(out, b)
	}
	return out, nil
}

// ReplayProgress is what `haup-check progress replay LSN` prints for haup,
// on a switchover's target: how far it is from the old primary's last WAL.
type ReplayProgress struct {
	// ReceiveLeft and ReplayLeft are the bytes from what this standby has
	// received and replayed to LSN (0 once there; -1 when not a standby).
	ReceiveLeft int64  `json:"receive_left"`
	ReplayLeft  int64  `json:"replay_left"`
	Error       string `json:"error,omitempty"`
}

// ReplayProgressOf reads, on this standby, the bytes left to lsn.
func ReplayProgressOf(ctx context.Context, cfg Config, password, lsn string) ReplayProgress {
	q := fmt.Sprintf(`SELECT coalesce(greatest(pg_wal_lsn_diff('%[1]s', pg_last_wal_receive_lsn()), 0), -1)::bigint,
  coalesce(greatest(pg_wal_lsn_diff('%[1]s', pg_last_wal_replay_lsn()), 0), -1)::bigint`, quoteLSN(lsn))
	rows, err := query(ctx, cfg, password, dbName(cfg), q)
	if err != nil {
		return ReplayProgress{Error: err.Error()}
	}
	if len(rows) != 1 || len(rows[0]) != 2 {
		return ReplayProgress{Error: fmt.Sprintf("unexpected answer: %d rows", len(rows))}
	}
	var p ReplayProgress
	p.ReceiveLeft, err = strconv.ParseInt(rows[0][0], 10, 64)
	if err == nil {
		p.ReplayLeft, err = strconv.ParseInt(rows[0][1], 10, 64)
	}
	if err != nil {
		return ReplayProgress{Error: err.Error()}
	}
	return p
}
