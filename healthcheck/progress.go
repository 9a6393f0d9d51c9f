package healthcheck

import (
	"context"
	"fmt"
	"strconv"

	"github.com/haup-project/haup/nodeapi"
)

const baseBackupQuery = `SELECT b.pid, coalesce(host(a.client_addr), ''), b.phase, coalesce(b.backup_total::text, ''), b.backup_streamed
FROM pg_stat_progress_basebackup b LEFT JOIN pg_stat_activity a ON a.pid = b.pid ORDER BY b.pid`

// CloneProgressOf asks the current primary (the peer answering as primary
// on the newest timeline) which base backups it sends.
func CloneProgressOf(ctx context.Context, cfg nodeapi.Config, password string) nodeapi.CloneProgress {
	peer, _, err := currentPrimary(ctx, cfg, password)
	if err != nil {
		return nodeapi.CloneProgress{Error: err.Error()}
	}
	at := cfg
	at.Host, at.Port = peer.Host, peer.Port
	rows, err := query(ctx, at, password, dbName(cfg), baseBackupQuery)
	if err != nil {
		return nodeapi.CloneProgress{Primary: peer.Name, Error: err.Error()}
	}
	backups, err := parseBaseBackups(rows)
	if err != nil {
		return nodeapi.CloneProgress{Primary: peer.Name, Error: err.Error()}
	}
	return nodeapi.CloneProgress{Primary: peer.Name, Backups: backups}
}

func parseBaseBackups(rows [][]string) ([]nodeapi.BaseBackup, error) {
	out := []nodeapi.BaseBackup{}
	for _, r := range rows {
		if len(r) != 5 {
			return nil, fmt.Errorf("pg_stat_progress_basebackup: %d columns, want 5", len(r))
		}
		b := nodeapi.BaseBackup{Client: r[1], Phase: r[2]}
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

// ReplayProgressOf reads, on this standby, the bytes left to lsn.
func ReplayProgressOf(ctx context.Context, cfg nodeapi.Config, password, lsn string) nodeapi.ReplayProgress {
	q := fmt.Sprintf(`SELECT coalesce(greatest(pg_wal_lsn_diff('%[1]s', pg_last_wal_receive_lsn()), 0), -1)::bigint,
  coalesce(greatest(pg_wal_lsn_diff('%[1]s', pg_last_wal_replay_lsn()), 0), -1)::bigint`, quoteLSN(lsn))
	rows, err := query(ctx, cfg, password, dbName(cfg), q)
	if err != nil {
		return nodeapi.ReplayProgress{Error: err.Error()}
	}
	if len(rows) != 1 || len(rows[0]) != 2 {
		return nodeapi.ReplayProgress{Error: fmt.Sprintf("unexpected answer: %d rows", len(rows))}
	}
	var p nodeapi.ReplayProgress
	p.ReceiveLeft, err = strconv.ParseInt(rows[0][0], 10, 64)
	if err == nil {
		p.ReplayLeft, err = strconv.ParseInt(rows[0][1], 10, 64)
	}
	if err != nil {
		return nodeapi.ReplayProgress{Error: err.Error()}
	}
	return p
}
