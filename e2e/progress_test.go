package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// bulkRows is about 400 MB of rows (a 200-byte text each, stored inline):
// with the primary's sending held to 50 MB/s, the clone lasts about 8 s.
const bulkRows = 1_600_000

// rejoinProgress: `haup rejoin --clone` reports the clone from the
// primary's pg_stat_progress_basebackup on stderr, one `node: ...` line per
// update without a terminal, at least three with bytes and a rate. The
// lab's database is small, so a table of about 400 MB is written first
// (through the VIP, dropped at the end) and HAUP_PROGRESS_INTERVAL samples
// every 200 ms instead of every 2 s.
func rejoinProgress(ctx context.Context, t *testing.T) {
	_, standby := primaryAndStandby(t)
	conn, err := connect(ctx, t, vip, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := conn.Exec(bctx, `CREATE TABLE haup_e2e_bulk AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, $1::int) g`, bulkRows); err != nil {
		conn.Close(ctx)
		t.Fatalf("bulk table: %v", err)
	}
	conn.Close(ctx)
	t.Logf("bulk table written in %.1f s", time.Since(start).Seconds())
	t.Cleanup(func() {
		c, err := connect(context.Background(), t, vip, 5*time.Second)
		if err != nil {
			t.Errorf("drop the bulk table: %v", err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `DROP TABLE IF EXISTS haup_e2e_bulk`); err != nil {
			t.Errorf("drop the bulk table: %v", err)
		}
	})
	id, _ := waitWrite(ctx, t, "before the clone with progress", 10*time.Second)
	// The clone keeps the standby's old data (the bulk table with it) aside:
	// this step removes the directory it made, for the lab's disk.
	kept := func() string {
		return mustOnNode(t, standby, "ls -d /var/lib/haup-pg.diverged-* 2>/dev/null || true")
	}
	keptBefore := kept()
	defer func() {
		for _, d := range strings.Fields(kept()) {
			if !slices.Contains(strings.Fields(keptBefore), d) {
				mustOnNode(t, standby, "rm -rf "+d)
			}
		}
	}()

	// The lab's clone runs from the page cache at several hundred MiB/s,
	// over in a second: the primary's sending is held to 50 MB/s for the
	// clone, so that it lasts about 8 s, as a real network's would.
	primary, _ := primaryAndStandby(t)
	mustOnNode(t, primary, "tc qdisc replace dev eth0 root tbf rate 400mbit burst 256kb latency 50ms")
	defer mustOnNode(t, primary, "tc qdisc del dev eth0 root 2>/dev/null || true")
	cmd := exec.Command(build(t), "rejoin", "--clone", standby, labInventory)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "HAUP_PROGRESS_INTERVAL=200ms")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start = time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("haup rejoin --clone %s: %v\nstdout:\n%s\nstderr:\n%s", standby, err, out.String(), errb.String())
	}
	t.Logf("rejoin --clone of %s took %.1f s", standby, time.Since(start).Seconds())
	waitReplicated(ctx, t, nodeAddr(standby), id, 60*time.Second)

	// `pg-1: cloning from pg-0: 212.4 MiB of 401.7 MiB (52%), 105.3 MiB/s, ETA 2s`
	update := regexp.MustCompile(`^` + regexp.QuoteMeta(standby) + `: cloning from \S+: [0-9.]+ (B|KiB|MiB|GiB)( of [0-9.]+ (B|KiB|MiB|GiB) \(\d+%\))?, [0-9.]+ (B|KiB|MiB|GiB)/s`)
	var updates []string
	for _, l := range strings.Split(errb.String(), "\n") {
		if update.MatchString(l) {
			updates = append(updates, l)
		}
		if strings.Contains(l, "\r") || strings.Contains(l, "\x1b[") {
			t.Errorf("a terminal's control sequence on stderr that is not a terminal: %q", l)
		}
	}
	t.Logf("clone progress:\n%s", strings.Join(updates, "\n"))
	if len(updates) < 3 {
		t.Errorf("%d clone progress updates with bytes and a rate, want at least 3; stderr:\n%s", len(updates), errb.String())
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(standby) + `: cloning from \S+: done, `).MatchString(errb.String()) {
		t.Errorf("no line saying the clone is done; stderr:\n%s", errb.String())
	}
	waitStatus(t, "healthy", 0, 60*time.Second)
}
