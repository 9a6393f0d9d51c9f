package healthcheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/benchout"
)

// TestCheckBenchmark compares haup-check with the recipe's check
// (`docker exec CONTAINER psql ...`) against the same database, in a container
// of the lab image on the host network. It prints a table and records the
// figures for `make bench` (HAUP_BENCH=1); it asserts nothing about speed.
func TestCheckBenchmark(t *testing.T) {
	if os.Getenv("HAUP_BENCH") == "" {
		t.Skip("a benchmark: make bench runs it")
	}
	needPostgres(t)
	const (
		name  = "haup-check-bench"
		image = "haup-lab/postgresql-repmgr:15"
		runs  = 300
	)
	if out, err := exec.Command("../scripts/host-dockerd.sh").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	build := exec.Command("../labimage/build.sh")
	build.Env = append(os.Environ(), "HAUP_LAB_IMAGE="+image)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	port := freePort(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(testPassword), 0o600)
	os.Chown(pw, 1001, 1001)
	// The image runs bitnami's scripts as root, which run PostgreSQL as a
	// user of their own whose log file must be in a mounted directory (the
	// image's is a link to /dev/stdout that only root may open).
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	exec.Command("docker", "rm", "-f", name).Run()
	run := exec.Command("docker", "run", "-d", "--name", name, "--network", "host",
		"-v", pw+":/run/secrets/pw:ro", "-v", logs+":/opt/bitnami/postgresql/logs",
		"-e", "POSTGRESQL_PASSWORD_FILE=/run/secrets/pw", "-e", "REPMGR_PASSWORD_FILE=/run/secrets/pw",
		"-e", "REPMGR_NODE_NAME=bench-0", "-e", "REPMGR_NODE_NETWORK_NAME=127.0.0.1",
		"-e", "REPMGR_PARTNER_NODES=127.0.0.1", "-e", "REPMGR_PRIMARY_HOST=127.0.0.1",
		"-e", "POSTGRESQL_PORT_NUMBER="+strconv.Itoa(port), "-e", "REPMGR_PORT_NUMBER="+strconv.Itoa(port),
		"-e", "REPMGR_PRIMARY_PORT="+strconv.Itoa(port), image)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })

	bin := filepath.Join(dir, "haup-check")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/haup-check").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "check.json")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`{"node":"bench-0","host":"127.0.0.1","port":%d,"user":"postgres","password_file":%q,"deadline_ms":1600}`, port, pw)), 0o644)

	// bitnami's setup starts and stops PostgreSQL several times before
	// run.sh execs repmgrd as PID 1: a check passing before that can be
	// cut short by the next stop.
	check := exec.Command(bin, "-config", cfg)
	deadline := time.Now().Add(120 * time.Second)
	for {
		out, _ := exec.Command("docker", "exec", name, "cat", "/proc/1/comm").Output()
		if strings.TrimSpace(string(out)) == "repmgrd" && check.Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", "--tail", "20", name).CombinedOutput()
			t.Fatalf("the database did not become a passing primary\n%s", logs)
		}
		time.Sleep(500 * time.Millisecond)
		check = exec.Command(bin, "-config", cfg)
	}

	ours := measure(t, runs, nil, func() *exec.Cmd { return exec.Command(bin, "-config", cfg) }, 0)
	daemons := []string{"dockerd", "containerd"}
	recipe := measure(t, runs, daemons, func() *exec.Cmd {
		// PGPASSWORD travels in the environment of docker exec, not on
		// psql's command line; the answer is checked, not awk's status.
		c := exec.Command("docker", "exec", "-e", "PGPASSWORD", name, "psql", "-h", "127.0.0.1", "-p", strconv.Itoa(port),
			"-U", "postgres", "-tAc", "SELECT pg_is_in_recovery()")
		c.Env = append(os.Environ(), "PGPASSWORD="+testPassword)
		return c
	}, 0)

	fmt.Printf("\n%-28s %10s %10s %10s\n", "check ("+strconv.Itoa(runs)+" runs)", "mean ms", "p99 ms", "cpu ms")
	fmt.Printf("%-28s %10.2f %10.2f %10.2f\n", "haup-check", ours.mean, ours.p99, ours.cpu)
	fmt.Printf("%-28s %10.2f %10.2f %10.2f\n", "recipe docker exec psql", recipe.mean, recipe.p99, recipe.cpu)
	fmt.Printf("haup-check is %.1fx faster (mean) and %.1fx cheaper (CPU)\n\n", recipe.mean/ours.mean, recipe.cpu/ours.cpu)
	err := benchout.Record(benchout.Path(), map[string]float64{
		"check_mean_ms": ours.mean, "check_p99_ms": ours.p99, "check_cpu_ms": ours.cpu,
		"recipe_check_mean_ms": recipe.mean, "recipe_check_p99_ms": recipe.p99, "recipe_check_cpu_ms": recipe.cpu,
	})
	if err != nil {
		t.Fatal(err)
	}
}

type figures struct{ mean, p99, cpu float64 }

// measure runs a command n times: wall time per run, and CPU per run of
// the command itself plus the named daemons (their /proc deltas).
func measure(t *testing.T, n int, daemons []string, cmd func() *exec.Cmd, _ int) figures {
	var lat []float64
	var childCPU time.Duration
	before := daemonCPU(daemons)
	for i := 0; i < n; i++ {
		c := cmd()
		start := time.Now()
		out, err := c.CombinedOutput()
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out)
		}
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			childCPU += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	total := float64(childCPU.Microseconds())/1000 + daemonCPU(daemons) - before
	sort.Float64s(lat)
	sum := 0.0
	for _, l := range lat {
		sum += l
	}
	return figures{mean: sum / float64(n), p99: lat[(len(lat)*99)/100], cpu: total / float64(n)}
}

// daemonCPU sums user+system CPU milliseconds of the processes so named.
func daemonCPU(names []string) float64 {
	if len(names) == 0 {
		return 0
	}
	tick := 100.0 // USER_HZ on Linux
	total := 0.0
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < 0 {
			continue
		}
		comm := s[open+1 : close]
		match := false
		for _, n := range names {
			match = match || comm == n
		}
		if !match {
			continue
		}
		f := strings.Fields(s[close+2:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		total += (u + st) / tick * 1000
	}
	return total
}
