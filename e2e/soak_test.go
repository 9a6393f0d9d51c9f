package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/benchout"
)

// BenchmarkSoak saturates the primary for HAUP_SOAK_SECONDS (default 600):
// pgbench with 64 clients writing through the primary's database, a
// CHECKPOINT every 10 s, and a busy loop per CPU in the primary's node. The
// lab shares this machine's CPUs, so the standby's repmgrd and both
// keepalived starve too: a harsher test than one loaded server. Every
// 100 ms it samples who holds the VIP; at the end it compares the primary
// and its timeline. It records soak_false_failovers (promotions) and
// soak_vip_moves (changes of VIP holder, a moment with none included).
func BenchmarkSoak(b *testing.B) {
	needRoot(b)
	secs := 600
	if v, err := strconv.Atoi(os.Getenv("HAUP_SOAK_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	benchCluster(b)
	for b.Loop() {
		primary := vipHolders()
		if len(primary) != 1 {
			b.Fatalf("VIP holders before the soak: %v", primary)
		}
		p := primary[0]
		tl := func(node string) string {
			return mustOnNode(b, node, pgIn+`psql -tAc "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary ' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END"`)
		}
		before := map[string]string{"pg-0": tl("pg-0"), "pg-1": tl("pg-1")}
		mustOnNode(b, p, pgIn+"pgbench -i -q -s 20 postgres >/dev/null 2>&1")
		load := fmt.Sprintf(pgInDetached+`pgbench -c 64 -j 2 -T %d -N postgres; `+
			`for i in $(seq $(nproc)); do timeout %d sh -c 'while :; do :; done' >/dev/null 2>&1 & done; `+
			`( end=$(( $(date +%%s) + %d )); while [ $(date +%%s) -lt $end ]; do sleep 10; `+pgIn+`psql -c CHECKPOINT >/dev/null 2>&1; done ) >/dev/null 2>&1 &`, secs, secs, secs)
		// Every background job's output goes to /dev/null: the SSH session
		// returns at once, and the sampling below covers the load.
		loadStart := time.Now()
		mustOnNode(b, p, load)
		if d := time.Since(loadStart); d > 10*time.Second {
			b.Fatalf("starting the load took %s: the sampling would miss it", d)
		}
		start := time.Now()
		moves, samples, last := 0, 0, p
		for time.Since(start) < time.Duration(secs)*time.Second {
			h := strings.Join(vipHolders(), ",")
			samples++
			if h != last {
				moves++
				b.Logf("%.1f s: VIP holders %q (were %q)", time.Since(start).Seconds(), h, last)
				last = h
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(5 * time.Second)
		after := map[string]string{"pg-0": tl("pg-0"), "pg-1": tl("pg-1")}
		false_ := 0
		for n := range before {
			if before[n] != after[n] {
				b.Logf("%s: %q -> %q (role, timeline)", n, before[n], after[n])
				if strings.HasPrefix(after[n], "primary") && before[n] == "standby" {
					false_++
				}
			}
		}
		// The standby's repmgrd checks the primary every monitor_interval:
		// how many of those went unanswered during the load (each one is
		// reconnect_attempts away from a failover).
		// And how often the standby's check found repmgrd slower than a
		// pass and reset its connections (the check logs each reset).
		missed, resets := 0, 0
		for _, n := range []string{"pg-0", "pg-1"} {
			if n == p {
				continue
			}
			count := func(pattern string) int {
				out := mustOnNode(b, n, fmt.Sprintf("docker logs --since %d pg 2>&1 | grep -c '%s' || true", loadStart.Unix(), pattern))
				c, _ := strconv.Atoi(strings.TrimSpace(out))
				return c
			}
			missed += count("unable to ping")
			out := mustOnNode(b, n, fmt.Sprintf("journalctl -q -t haup-check --since @%d | grep -c 'connections to the other nodes.* reset' || true", loadStart.Unix()))
			c, _ := strconv.Atoi(strings.TrimSpace(out))
			resets += c
		}
		b.Logf("soak %d s on %s: %d samples, %d VIP moves, %d promotions, %d repmgr checks unanswered, %d resets of repmgrd's connections", secs, p, samples, moves, false_, missed, resets)
		if err := benchout.Record(benchout.Path(), map[string]float64{
			"soak_seconds":              float64(secs),
			"soak_false_failovers":      float64(false_),
			"soak_vip_moves":            float64(moves),
			"soak_repmgr_missed_checks": float64(missed),
			"soak_repmgrd_resets":       float64(resets),
		}); err != nil {
			b.Fatal(err)
		}
		waitHealthy(b, 3*time.Minute)
	}
}
