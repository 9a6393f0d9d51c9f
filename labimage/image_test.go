// Package labimage tests the lab database image: two containers on an
// internal Docker network (no NAT, no route out) with real repmgr.
package labimage

import (
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/benchout"
	"github.com/haup-project/haup/internal/testenv"
)

const labImage = "haup-lab/postgresql-repmgr:15"

// image is the image build.sh builds: HAUP_LAB_IMAGE, as for build.sh, so a
// development build can be tested beside the lab's.
var image = envOr("HAUP_LAB_IMAGE", labImage)

// The test's Docker network, its subnet and the containers' name prefix:
// the lab image's are fixed; another image gets its own, so that its tests
// and the lab image's can run at the same time.
var network, subnet, prefix = names(image)

func names(img string) (network, subnet, prefix string) {
	if img == labImage {
		return "haup-labimage-test", "172.31.77", "labimg"
	}
	tag := img[strings.LastIndexAny(img, ":/@")+1:]
	h := fnv.New32a()
	h.Write([]byte(img))
	return "haup-labimage-test-" + tag, fmt.Sprintf("172.31.%d", 78+h.Sum32()%100), "labimg-" + tag
}

// name is the name of container i.
func name(i int) string { return fmt.Sprintf("%s-%d", prefix, i) }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Short failover timings keep the test fast: attempts x interval = 4 s.
const attempts, interval = 2, 2

func need(t testing.TB) { testenv.Need(t, true, "docker", "debootstrap") }

func sh(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// cluster is two containers of the image, pg-0 the initial primary.
type cluster struct {
	t       testing.TB
	secrets string
}

func newCluster(t testing.TB) *cluster {
	need(t)
	sh(t, "../scripts/host-dockerd.sh")
	sh(t, "./build.sh")
	c := &cluster{t: t, secrets: t.TempDir()}
	for _, s := range []string{"pg", "rm"} {
		p := filepath.Join(c.secrets, s)
		os.WriteFile(p, []byte("pw-"+s+"-test"), 0o600)
		os.Chown(p, 1001, 1001)
	}
	c.cleanup()
	sh(t, "docker", "network", "create", "--internal", "--subnet", subnet+".0/24", network)
	t.Cleanup(c.cleanup)
	return c
}

func (c *cluster) cleanup() {
	exec.Command("docker", "rm", "-f", name(0), name(1)).Run()
	exec.Command("docker", "network", "rm", network).Run()
}

func ip(i int) string { return fmt.Sprintf("%s.%d", subnet, 10+i) }

// run starts container i; env adds NAME=VALUE settings.
func (c *cluster) run(i int, env ...string) {
	c.t.Helper()
	args := []string{"run", "-d", "--name", name(i), "--network", network, "--ip", ip(i)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	sh(c.t, "docker", append(args,
		"-v", filepath.Join(c.secrets, "pg")+":/run/secrets/pg:ro",
		"-v", filepath.Join(c.secrets, "rm")+":/run/secrets/rm:ro",
		"-e", "POSTGRESQL_PASSWORD_FILE=/run/secrets/pg", "-e", "REPMGR_PASSWORD_FILE=/run/secrets/rm",
		"-e", fmt.Sprintf("REPMGR_NODE_NAME=pg-%d", i), "-e", "REPMGR_NODE_NETWORK_NAME="+ip(i),
		"-e", "REPMGR_PARTNER_NODES="+ip(0)+","+ip(1), "-e", "REPMGR_PRIMARY_HOST="+ip(0),
		"-e", fmt.Sprintf("REPMGR_RECONNECT_ATTEMPTS=%d", attempts), "-e", fmt.Sprintf("REPMGR_RECONNECT_INTERVAL=%d", interval),
		"-e", "REPMGR_CONNECT_TIMEOUT=2", image)...)
}

// sql runs a statement in container i through its local socket.
func (c *cluster) sql(i int, q string) (string, error) {
	db := "postgres"
	if strings.Contains(q, "repmgr.") {
		db = "repmgr"
	}
	// Only errors are printed besides the result (TimescaleDB's notices
	// would be taken for it).
	out, err := exec.Command("docker", "exec", "-e", "PGOPTIONS=-c client_min_messages=error", name(i),
		"psql", "-h", "/tmp", "-U", "postgres", "-d", db, "-tAc", q).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// exec runs each statement in container i on its own (some TimescaleDB
// calls refuse to run inside a transaction block) and fails on an error.
func (c *cluster) exec(i int, stmts ...string) {
	c.t.Helper()
	for _, q := range stmts {
		if out, err := c.sql(i, q); err != nil {
			c.t.Fatalf("pg-%d: %s: %v\n%s", i, q, err, out)
		}
	}
}

// query returns the answer of container i to q, failing on an error.
func (c *cluster) query(i int, q string) string {
	c.t.Helper()
	out, err := c.sql(i, q)
	if err != nil {
		c.t.Fatalf("pg-%d: %s: %v\n%s", i, q, err, out)
	}
	return out
}

// wait polls container i until q answers want.
func (c *cluster) wait(i int, q, want string, timeout time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	var got string
	for time.Since(start) < timeout {
		got, _ = c.sql(i, q)
		if got == want {
			return time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs, _ := exec.Command("docker", "logs", "--tail", "30", name(i)).CombinedOutput()
	c.t.Fatalf("pg-%d: %q answered %q, want %q, after %s\n%s", i, q, got, want, timeout, logs)
	return 0
}

const (
	isPrimary = "SELECT NOT pg_is_in_recovery()"
	timeline  = "SELECT CASE WHEN pg_is_in_recovery() THEN -1 ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END"
)

func (c *cluster) start() {
	c.run(0)
	c.wait(0, isPrimary, "t", 90*time.Second)
	c.run(1)
	c.wait(1, isPrimary, "f", 90*time.Second)
	// The standby is registered (its record replicated back to it), so
	// its repmgrd can monitor the primary.
	c.wait(1, "SELECT count(*) FROM repmgr.nodes WHERE active", "2", 60*time.Second)
}

// promote kills the primary and returns how long until the standby answered
// as primary.
func (c *cluster) promote() time.Duration {
	sh(c.t, "docker", "kill", name(0))
	return c.wait(1, isPrimary, "t", time.Duration(attempts*interval+60)*time.Second)
}

func TestReplicationFailoverRejoinSplitBrain(t *testing.T) {
	c := newCluster(t)
	c.start()

	// A row written on the primary appears on the standby.
	if _, err := c.sql(0, "CREATE TABLE t (v text); INSERT INTO t VALUES ('before')"); err != nil {
		t.Fatal(err)
	}
	c.wait(1, "SELECT count(*) FROM t WHERE v = 'before'", "1", 30*time.Second)

	// Killing the primary promotes the standby.
	took := c.promote()
	t.Logf("standby promoted %.1f s after the primary was killed (attempts %d x interval %d s)", took.Seconds(), attempts, interval)
	c.wait(1, timeline, "2", 10*time.Second)
	if _, err := c.sql(1, "INSERT INTO t VALUES ('after')"); err != nil {
		t.Fatal(err)
	}

	// The old primary, restarted, rejoins as a standby and replicates.
	sh(t, "docker", "start", name(0))
	c.wait(0, isPrimary, "f", 90*time.Second)
	c.wait(0, "SELECT count(*) FROM t WHERE v = 'after'", "1", 60*time.Second)
	if _, err := c.sql(1, "INSERT INTO t VALUES ('rejoined')"); err != nil {
		t.Fatal(err)
	}
	c.wait(0, "SELECT count(*) FROM t WHERE v = 'rejoined'", "1", 30*time.Second)

	// Now pg-1 is primary on timeline 2 and pg-0 its standby. Kill pg-1,
	// so pg-0 is promoted onto timeline 3, then restart pg-1 while it cannot
	// reach pg-0: it finds no primary and starts as one on its older
	// timeline 2 - the split brain the health check guards against.
	sh(t, "docker", "kill", name(1))
	c.wait(0, isPrimary, "t", time.Duration(attempts*interval+60)*time.Second)
	c.wait(0, timeline, "3", 10*time.Second)
	sh(t, "docker", "network", "disconnect", network, name(1))
	sh(t, "docker", "start", name(1))
	sh(t, "docker", "network", "connect", "--ip", ip(1), network, name(1))
	c.wait(1, isPrimary, "t", 90*time.Second)
	if tl, _ := c.sql(1, timeline); tl != "2" {
		t.Errorf("old primary restarted alone: timeline %s, want 2 (older than the promoted node's 3)", tl)
	}
}

// TestPromotionTime measures failover of the image alone and records
// promotion_s for `make bench` (run with HAUP_BENCH=1).
func TestPromotionTime(t *testing.T) {
	if os.Getenv("HAUP_BENCH") == "" {
		t.Skip("a benchmark: make bench runs it")
	}
	c := newCluster(t)
	c.start()
	took := c.promote()
	fmt.Printf("promotion_s %.2f (attempts %d x interval %d s)\n", took.Seconds(), attempts, interval)
	if err := benchout.Record(benchout.Path(), map[string]float64{"promotion_s": took.Seconds()}); err != nil {
		t.Fatal(err)
	}
}

// TimescaleDB objects the failover test creates: a hypertable of 1-day chunks
// (nine days of hourly rows for three devices), compressed by device, with a
// compression policy and a continuous aggregate with a refresh policy. The
// policies first run an hour from now, so they run in the test only when it
// says so.
var tsSetup = []string{
	`CREATE TABLE metrics (ts timestamptz NOT NULL, device int NOT NULL, v double precision)`,
	`SELECT create_hypertable('metrics', by_range('ts', INTERVAL '1 day'))`,
	`ALTER TABLE metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'device', timescaledb.compress_orderby = 'ts')`,
	`SELECT add_compression_policy('metrics', compress_after => INTERVAL '7 days', initial_start => now() + INTERVAL '1 hour')`,
	`INSERT INTO metrics SELECT t, d, d * 10 + extract(hour FROM t) FROM generate_series(TIMESTAMPTZ '2024-01-01 00:00+00', '2024-01-09 23:00+00', INTERVAL '1 hour') t, generate_series(1, 3) d`,
	`CREATE MATERIALIZED VIEW metrics_daily WITH (timescaledb.continuous) AS
	   SELECT time_bucket(INTERVAL '1 day', ts) AS day, device, count(*) AS n, sum(v) AS total FROM metrics GROUP BY 1, 2 WITH NO DATA`,
	`SELECT add_continuous_aggregate_policy('metrics_daily', start_offset => NULL, end_offset => INTERVAL '1 hour',
	   schedule_interval => INTERVAL '1 hour', initial_start => now() + INTERVAL '1 hour')`,
	`CALL refresh_continuous_aggregate('metrics_daily', NULL, NULL)`,
	`SELECT count(compress_chunk(c)) FROM show_chunks('metrics', older_than => TIMESTAMPTZ '2024-01-03 00:00+00') c`,
}

const (
	// What the data looks like from any node: rows and their sum, the
	// aggregate's rows and its sum, compressed and all chunks.
	tsData = `SELECT (SELECT count(*) || '/' || sum(v) FROM metrics) || ' ' ||
	  (SELECT count(*) || '/' || sum(n) || '/' || sum(total) FROM metrics_daily) || ' ' ||
	  (SELECT count(*) FILTER (WHERE is_compressed) || '/' || count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics')`
	tsVersion = `SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`
	tsJobs    = `SELECT string_agg(job_id::text, ',' ORDER BY job_id) FROM timescaledb_information.jobs
	  WHERE proc_name IN ('policy_compression', 'policy_refresh_continuous_aggregate')`
)

// TestTimescaleFailoverRejoin: TimescaleDB data created through the primary
// (hypertable, compressed chunks, continuous aggregate, policies) survives a
// failover; the promoted node creates chunks and runs the policies as
// background jobs that succeed; the old primary rejoins with the same data,
// read-only.
func TestTimescaleFailoverRejoin(t *testing.T) {
	c := newCluster(t)
	c.start()
	for i := 0; i < 2; i++ {
		if v := c.query(i, tsVersion); v != "2.17.2" {
			t.Fatalf("pg-%d: TimescaleDB %q, want 2.17.2", i, v)
		}
		if v := c.query(i, "SHOW shared_preload_libraries"); v != "repmgr,timescaledb" {
			t.Errorf("pg-%d: shared_preload_libraries %q", i, v)
		}
		if v := c.query(i, "SHOW timescaledb.telemetry_level"); v != "off" {
			t.Errorf("pg-%d: telemetry %q, want off", i, v)
		}
	}
	c.exec(0, tsSetup...)
	// 9 days x 24 h x 3 devices; 27 aggregate rows; 2 of 9 chunks compressed.
	before := c.query(0, tsData)
	if want := "648/"; !strings.HasPrefix(before, want) || !strings.HasSuffix(before, " 2/9") {
		t.Fatalf("on the primary: %q, want 648 rows and 2 of 9 chunks compressed", before)
	}
	if !strings.Contains(before, " 27/648/") {
		t.Fatalf("on the primary: %q, want 27 aggregate rows over 648 rows", before)
	}
	c.wait(1, tsData, before, 30*time.Second)
	jobs := c.query(0, tsJobs)
	if strings.Count(jobs, ",") != 1 {
		t.Fatalf("policy jobs %q, want two", jobs)
	}

	took := c.promote()
	t.Logf("standby promoted %.1f s after the primary was killed", took.Seconds())
	c.wait(1, tsData, before, 10*time.Second)

	// New chunks on the new primary (one day of February: one chunk), and
	// rows into a compressed chunk.
	c.exec(1,
		`INSERT INTO metrics SELECT t, d, 1 FROM generate_series(TIMESTAMPTZ '2024-02-01 00:00+00', '2024-02-01 23:00+00', INTERVAL '1 hour') t, generate_series(1, 3) d`,
		`INSERT INTO metrics VALUES ('2024-01-01 00:30+00', 1, 1)`)
	if n := c.query(1, `SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics'`); n != "10" {
		t.Fatalf("chunks after inserting a new day on the new primary: %s, want 10", n)
	}

	// The policies run as background jobs of the new primary and succeed:
	// started after the promotion, last status Success. The compression
	// policy compresses every chunk (all are older than 7 days); the refresh
	// policy adds February to the aggregate.
	since := c.query(1, "SELECT now()")
	c.exec(1, fmt.Sprintf("SELECT count(*) FROM unnest('{%s}'::int[]) j, LATERAL alter_job(j, next_start => now())", jobs))
	ran := fmt.Sprintf(`SELECT count(*) FILTER (WHERE last_run_status = 'Success') || '/' || count(*) FROM timescaledb_information.job_stats
	  WHERE job_id IN (%s) AND last_run_started_at >= '%s' AND job_status = 'Scheduled'`, jobs, since)
	jobsTook := c.wait(1, ran, "2/2", 90*time.Second)
	if failed := c.query(1, fmt.Sprintf(`SELECT count(*) FROM timescaledb_information.job_errors WHERE job_id IN (%s)`, jobs)); failed != "0" {
		t.Errorf("job errors on the new primary: %s", failed)
	}
	after := c.query(1, tsData)
	// 648 + 72 + 1 rows; 27 + 3 aggregate rows over 720 + 1 rows; all 10
	// chunks compressed.
	if !strings.HasPrefix(after, "721/") || !strings.Contains(after, " 30/721/") || !strings.HasSuffix(after, " 10/10") {
		t.Fatalf("after the jobs on the new primary: %q, want 721 rows, 30 aggregate rows over 721, 10 of 10 chunks compressed", after)
	}
	t.Logf("rows/sum aggregate-rows/rows/sum compressed/chunks: before the failover %s; after it, new rows and jobs %s (jobs %s succeeded %.1f s after being due)",
		before, after, jobs, jobsTook.Seconds())

	// The old primary, restarted, rejoins as a standby with the same data
	// and refuses writes.
	sh(t, "docker", "start", name(0))
	c.wait(0, isPrimary, "f", 90*time.Second)
	c.wait(0, tsData, after, 60*time.Second)
	if out, err := c.sql(0, `INSERT INTO metrics VALUES (now(), 1, 1)`); err == nil || !strings.Contains(out, "read-only") {
		t.Errorf("insert on the rejoined old primary: %v %q, want a read-only error", err, out)
	}
}

// TestPreloadLibraries: POSTGRESQL_SHARED_PRELOAD_LIBRARIES comes between
// repmgr and timescaledb, each library once, as in the bitnami flavour.
func TestPreloadLibraries(t *testing.T) {
	c := newCluster(t)
	c.run(0, "POSTGRESQL_SHARED_PRELOAD_LIBRARIES=pg_stat_statements, timescaledb")
	c.wait(0, isPrimary, "t", 90*time.Second)
	if v := c.query(0, "SHOW shared_preload_libraries"); v != "repmgr,pg_stat_statements,timescaledb" {
		t.Errorf("shared_preload_libraries %q, want repmgr,pg_stat_statements,timescaledb", v)
	}
	c.exec(0, "CREATE EXTENSION pg_stat_statements")
	if n := c.query(0, "SELECT count(*) > 0 FROM pg_stat_statements"); n != "t" {
		t.Errorf("pg_stat_statements is not collecting: %s", n)
	}
}

// TestImagePostgreSQLVersion: the image runs the PostgreSQL its TimescaleDB
// was built against (2.17.2's background jobs fail on 15.20 while they work
// on 15.18), and its labels say which versions it holds.
func TestImagePostgreSQLVersion(t *testing.T) {
	need(t)
	sh(t, "../scripts/host-dockerd.sh")
	sh(t, "./build.sh")
	label := func(k string) string {
		return sh(t, "docker", "image", "inspect", "-f", fmt.Sprintf("{{index .Config.Labels %q}}", k), image)
	}
	pg, ts := label("io.haup.postgresql"), label("io.haup.timescaledb")
	out := sh(t, "docker", "run", "--rm", "--entrypoint", "sh", image, "-c",
		`dpkg-query -W -f '${Version}\n' postgresql-15; postgres --version; cat /usr/share/doc/haup-timescaledb/build-info`)
	lines := strings.Split(out, "\n")
	if len(lines) < 4 {
		t.Fatalf("image answered:\n%s", out)
	}
	t.Logf("image labels: PostgreSQL %s, TimescaleDB %s; %s", pg, ts, lines[1])
	if lines[0] != pg {
		t.Errorf("image has postgresql-15 %s, its label says %s", lines[0], pg)
	}
	if !strings.Contains(out, "\npostgresql-server-dev-15 "+pg+"\n") {
		t.Errorf("TimescaleDB was not built against the image's PostgreSQL %s:\n%s", pg, out)
	}
	if !strings.Contains(out, "\ntimescaledb "+ts+"\n") || ts != "2.17.2" {
		t.Errorf("TimescaleDB label %s, build info:\n%s", ts, out)
	}
	if upstream, _, _ := strings.Cut(pg, "-"); !strings.Contains(lines[1], "PostgreSQL) "+upstream+" ") {
		t.Errorf("postgres --version %q, want %s", lines[1], upstream)
	}
}

// TestLabImageBuildCold measures an image build without TimescaleDB's build
// cache and records lab_image_build_cold_s for `make bench` (HAUP_BENCH=1),
// then lab_image_build_warm_s (every cache kept, only the image removed) and
// the image's size. The debootstrap roots are kept (a fresh machine adds
// their download, a minute or two each).
func TestLabImageBuildCold(t *testing.T) {
	if os.Getenv("HAUP_BENCH") == "" {
		t.Skip("a benchmark: make bench runs it")
	}
	need(t)
	sh(t, "../scripts/host-dockerd.sh")
	sh(t, "./build.sh") // the debootstrap roots, when missing
	cache := envOr("HAUP_LAB_CACHE", "/var/cache/haup-lab")
	build := func() float64 {
		exec.Command("docker", "image", "rm", "-f", image).Run()
		start := time.Now()
		sh(t, "./build.sh")
		return time.Since(start).Seconds()
	}
	if err := os.RemoveAll(filepath.Join(cache, "timescaledb")); err != nil {
		t.Fatal(err)
	}
	cold := build()
	warm := build()
	size, err := strconv.ParseFloat(sh(t, "docker", "image", "inspect", "-f", "{{.Size}}", image), 64)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("lab_image_build_cold_s %.1f (TimescaleDB compiled; debootstrap roots cached), warm %.1f s, image %.0f MiB\n", cold, warm, size/(1<<20))
	if err := benchout.Record(benchout.Path(), map[string]float64{
		"lab_image_build_cold_s": cold,
		"lab_image_build_warm_s": warm,
		"lab_image_mib":          size / (1 << 20),
	}); err != nil {
		t.Fatal(err)
	}
}
