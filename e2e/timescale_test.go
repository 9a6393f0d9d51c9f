package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// tsQuery runs sql on host and returns the first column of the first row.
func tsQuery(ctx context.Context, t *testing.T, host, sql string) (string, error) {
	conn, err := connect(ctx, t, host, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var s *string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		return "", err
	}
	if s == nil {
		return "", nil
	}
	return *s, nil
}

func mustTS(ctx context.Context, t *testing.T, host string, sql ...string) {
	t.Helper()
	conn, err := connect(ctx, t, host, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

const tsDataQuery = `SELECT (SELECT count(*) || '/' || sum(v) FROM ts_metrics) || ' ' ||
  (SELECT count(*) || '/' || sum(n) FROM ts_daily) || ' ' ||
  (SELECT count(*) FILTER (WHERE is_compressed) || '/' || count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'ts_metrics')`

// timescaleAcrossSwitchover: through the VIP, a hypertable with compression
// and a continuous aggregate with a refresh policy; a switchover; on the new
// primary the data is all there, new chunks are created and the policies run
// as background jobs that succeed; the old primary, rejoined, serves the same
// data read-only. status shows the versions on every node.
func timescaleAcrossSwitchover(ctx context.Context, t *testing.T) {
	waitStatus(t, "healthy", 0, 120*time.Second)
	mustTS(ctx, t, vip,
		`CREATE EXTENSION IF NOT EXISTS timescaledb`,
		`DROP MATERIALIZED VIEW IF EXISTS ts_daily`,
		`DROP TABLE IF EXISTS ts_metrics`,
		`CREATE TABLE ts_metrics (ts timestamptz NOT NULL, device int NOT NULL, v double precision)`,
		`SELECT create_hypertable('ts_metrics', by_range('ts', INTERVAL '1 day'))`,
		`ALTER TABLE ts_metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'device')`,
		`INSERT INTO ts_metrics SELECT t, d, d FROM generate_series(TIMESTAMPTZ '2024-01-01 00:00+00', '2024-01-04 23:00+00', INTERVAL '1 hour') t, generate_series(1, 3) d`,
		`CREATE MATERIALIZED VIEW ts_daily WITH (timescaledb.continuous) AS
		   SELECT time_bucket(INTERVAL '1 day', ts) AS day, device, count(*) AS n FROM ts_metrics GROUP BY 1, 2 WITH NO DATA`,
		`SELECT add_continuous_aggregate_policy('ts_daily', start_offset => NULL, end_offset => INTERVAL '1 hour',
		   schedule_interval => INTERVAL '1 hour', initial_start => now() + INTERVAL '1 hour')`,
		`CALL refresh_continuous_aggregate('ts_daily', NULL, NULL)`,
		`SELECT count(compress_chunk(c)) FROM show_chunks('ts_metrics', older_than => TIMESTAMPTZ '2024-01-03 00:00+00') c`,
	)
	before, err := tsQuery(ctx, t, vip, tsDataQuery)
	if err != nil || before != "288/576 12/288 2/4" {
		t.Fatalf("before the switchover: %q, %v (want 288 rows, 12 aggregate rows, 2 of 4 chunks compressed)", before, err)
	}
	old, next := primaryAndStandby(t)
	mustHaup(t, 0, "switchover", "--to", next, labInventory)
	waitVIP(t, next, 30*time.Second)
	if got, err := tsQuery(ctx, t, vip, tsDataQuery); err != nil || got != before {
		t.Fatalf("after the switchover on %s: %q, %v, want %q", next, got, err, before)
	}
	job, err := tsQuery(ctx, t, vip, `SELECT j.job_id::text FROM timescaledb_information.jobs j JOIN timescaledb_information.continuous_aggregates c
	   ON j.hypertable_name = c.materialization_hypertable_name WHERE j.proc_name = 'policy_refresh_continuous_aggregate' AND c.view_name = 'ts_daily'`)
	if err != nil || job == "" {
		t.Fatalf("refresh policy job: %q, %v", job, err)
	}
	since, _ := tsQuery(ctx, t, vip, `SELECT now()::text`)
	mustTS(ctx, t, vip,
		`INSERT INTO ts_metrics SELECT t, d, 1 FROM generate_series(TIMESTAMPTZ '2024-02-01 00:00+00', '2024-02-01 23:00+00', INTERVAL '1 hour') t, generate_series(1, 3) d`,
		fmt.Sprintf(`SELECT alter_job(%s, next_start => now())`, job))
	ran := fmt.Sprintf(`SELECT last_run_status FROM timescaledb_information.job_stats WHERE job_id = %s AND last_run_started_at >= '%s'`, job, since)
	status := ""
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if status, _ = tsQuery(ctx, t, vip, ran); status != "" {
			break
		}
	}
	if status != "Success" {
		t.Fatalf("the refresh policy on the new primary %s: %q, want Success", next, status)
	}
	after, err := tsQuery(ctx, t, vip, tsDataQuery)
	if err != nil || after != "360/648 15/360 2/5" {
		t.Fatalf("after new rows and the job on %s: %q, %v (want 360 rows, 15 aggregate rows, a fifth chunk)", next, after, err)
	}
	waitStatus(t, "healthy", 0, 120*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		if got, _ = tsQuery(ctx, t, nodeAddr(old), tsDataQuery); got == after {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got != after {
		t.Fatalf("the rejoined %s serves %q, want %q", old, got, after)
	}
	if _, err := tsQuery(ctx, t, nodeAddr(old), `INSERT INTO ts_metrics VALUES (now(), 9, 9) RETURNING 'x'`); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("the rejoined %s takes writes: %v", old, err)
	}
	// The versions are a column of the wide table (the default one fits
	// 80 columns and leaves them out).
	st := haup(t, "status", "-o", "wide", labInventory)
	if strings.Count(st.stdout, "ts 2.17.2") != 2 {
		t.Errorf("status does not show TimescaleDB 2.17.2 on both nodes:\n%s", st.stdout)
	}
}
