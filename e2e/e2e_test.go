package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/haup-project/haup/internal/benchout"
)

const labInventory = ".lab/inventory.yaml"

// TestEndToEnd is the whole story on a fresh two-node lab: greenfield apply,
// idempotent re-apply, drift repair, failover and bad input. The scenarios
// share the cluster and run in order; a failure stops the ones after it.
// labCacheDir is the lab's cache (HAUP_LAB_CACHE, as lab.sh reads it).
var labCacheDir = func() string {
	if d := os.Getenv("HAUP_LAB_CACHE"); d != "" {
		return d
	}
	return "/var/cache/haup-lab"
}()

func TestEndToEnd(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	metrics := map[string]float64{}

	// From nothing: a lab left by an earlier run is removed first.
	haup(t, "lab", "down")
	// On a machine without the lab's caches (CI's fresh machine), this
	// first lab up is the cold one: make bench reuses its figure instead
	// of building every cache a second time.
	_, cacheErr := os.Stat(labCacheDir)
	up := mustHaup(t, 0, "lab", "up", "--nodes", "2")
	if os.IsNotExist(cacheErr) {
		metrics["lab_up_cold_s"] = up.elapsed.Seconds()
		t.Logf("lab up without caches: %.1f s", up.elapsed.Seconds())
	}
	t.Cleanup(func() {
		if os.Getenv("HAUP_E2E_KEEP_LAB") == "" {
			haup(t, "lab", "down")
		}
	})

	steps := e2eSteps(ctx, metrics)
	var times strings.Builder
	defer func() {
		// How long each step took: in the log (shown for a failed run) and,
		// with HAUP_E2E_STEP_TIMES set (make test sets it), in that file,
		// to see where the suite's time goes.
		t.Logf("step times (s):\n%s", times.String())
		if p := os.Getenv("HAUP_E2E_STEP_TIMES"); p != "" {
			if err := os.WriteFile(p, []byte(times.String()), 0o644); err != nil {
				t.Error(err)
			}
		}
	}()
	for _, s := range steps {
		start := time.Now()
		ok := t.Run(s.name, s.run)
		fmt.Fprintf(&times, "%s\t%.1f\n", s.name, time.Since(start).Seconds())
		if !ok {
			t.Fatalf("step %s failed; the steps after it need its result", s.name)
		}
	}
	if err := benchout.Record(benchout.Path(), metrics); err != nil {
		t.Error(err)
	}
}

type e2eStep struct {
	name string
	run  func(t *testing.T)
}

// e2eSteps are the end-to-end suite's steps, in order: each needs the
// cluster as the ones before left it.
func e2eSteps(ctx context.Context, metrics map[string]float64) []e2eStep {
	return []e2eStep{
		{"greenfield", func(t *testing.T) { greenfield(ctx, t, metrics) }},
		{"idempotent", func(t *testing.T) { idempotent(t, metrics) }},
		{"drift", func(t *testing.T) { drift(t) }},
		{"failover-kill-container", func(t *testing.T) { failoverKill(ctx, t) }},
		{"status-watch", func(t *testing.T) { statusWatch(ctx, t) }},
		{"metrics", func(t *testing.T) { metricsStep(ctx, t) }},
		{"failover-power-off", func(t *testing.T) { failoverPowerOff(ctx, t) }},
		{"keepalived-killed", func(t *testing.T) { keepalivedKilled(ctx, t, metrics) }},
		{"drill", func(t *testing.T) { drillStep(ctx, t) }},
		{"zero-loss", func(t *testing.T) { zeroLoss(t) }},
		{"double-fault-zero-loss", func(t *testing.T) { doubleFaultZeroLoss(ctx, t, metrics) }},
		{"double-fault-async", func(t *testing.T) { doubleFaultAsync(ctx, t, metrics) }},
		{"double-fault-beyond-bound", func(t *testing.T) { doubleFaultBeyondBound(ctx, t) }},
		{"double-fault-standby-node-down", func(t *testing.T) { doubleFaultStandbyNodeDown(ctx, t, metrics) }},
		{"double-fault-cut", func(t *testing.T) { doubleFaultCut(ctx, t, metrics) }},
		{"status-verdicts", func(t *testing.T) { statusVerdicts(ctx, t) }},
		{"interrupted-apply", func(t *testing.T) { interruptedApply(t) }},
		{"killed-applies", func(t *testing.T) { killedApplies(t) }},
		{"saved-plans", func(t *testing.T) { savedPlans(t) }},
		{"through-bastions", func(t *testing.T) { throughBastions(t) }},
		{"lab-anywhere", func(t *testing.T) { labAnywhere(t) }},
		{"check-removed", func(t *testing.T) { checkRemoved(t) }},
		{"fence-after-freeze", func(t *testing.T) { fenceAfterFreeze(ctx, t, metrics) }},
		{"repmgrd-stuck", func(t *testing.T) { repmgrdStuck(ctx, t, metrics) }},
		{"repmgrd-unanswered", func(t *testing.T) { repmgrdUnanswered(ctx, t, metrics) }},
		{"postgres-cut", func(t *testing.T) { postgresCut(ctx, t, metrics) }},
		{"database-network-cut", func(t *testing.T) { databaseNetworkCut(ctx, t, metrics) }},
		{"rejoin-command", func(t *testing.T) { rejoinCommand(ctx, t) }},
		{"rejoin-progress", func(t *testing.T) { rejoinProgress(ctx, t) }},
		{"maintenance-mode", func(t *testing.T) { maintenanceMode(ctx, t) }},
		{"switchover-refusals", func(t *testing.T) { switchoverRefusals(t) }},
		{"switchover", func(t *testing.T) { switchovers(ctx, t, metrics) }},
		{"killed-switchovers", func(t *testing.T) { killedSwitchovers(ctx, t, metrics) }},
		{"promoted-restart", func(t *testing.T) { promotedRestart(ctx, t) }},
		{"paused-failover", func(t *testing.T) { pausedFailover(t) }},
		{"rolling-upgrade", func(t *testing.T) { rollingUpgrade(ctx, t, metrics) }},
		{"password-rotation", func(t *testing.T) { passwordRotation(ctx, t) }},
		{"repmgr-password-rotation", func(t *testing.T) { repmgrPasswordRotation(ctx, t) }},
		{"timescaledb-across-switchover", func(t *testing.T) { timescaleAcrossSwitchover(ctx, t) }},
		{"bad-input", func(t *testing.T) { badInput(t) }},
		{"allowed-clients", func(t *testing.T) { allowedClients(ctx, t) }},
		{"tls", func(t *testing.T) { tlsStep(ctx, t, metrics) }},
		{"witness-partition", func(t *testing.T) { witnessPartition(t, metrics) }},
	}
}

// TestSteps runs the steps named in HAUP_E2E_STEPS (comma-separated) on the
// lab as it is, for a developer who changed one: `make lab` first. Without
// the variable it has nothing to do.
func TestSteps(t *testing.T) {
	names := os.Getenv("HAUP_E2E_STEPS")
	if names == "" {
		t.Skip("HAUP_E2E_STEPS names no step (TestEndToEnd runs them all)")
	}
	needRoot(t)
	metrics := map[string]float64{}
	byName := map[string]e2eStep{}
	for _, s := range e2eSteps(context.Background(), metrics) {
		byName[s.name] = s
	}
	for _, n := range strings.Split(names, ",") {
		s, ok := byName[strings.TrimSpace(n)]
		if !ok {
			t.Fatalf("no step %q", n)
		}
		if !t.Run(s.name, s.run) {
			break
		}
	}
	t.Logf("figures: %v", metrics)
}

func greenfield(ctx context.Context, t *testing.T, metrics map[string]float64) {
	r := mustHaup(t, 2, "diff", labInventory)
	lines := planLines(r.stdout)
	for _, want := range []string{"pg-0: + package keepalived", "pg-0: + container pg", "pg-1: + service keepalived", "pg-1: + image"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Errorf("greenfield diff lacks %q:\n%s", want, r.stdout)
		}
	}
	assertNoSecrets(t, r.stdout+r.stderr)

	r = mustHaup(t, 0, "apply", labInventory)
	metrics["greenfield_apply_s"] = r.elapsed.Seconds()
	t.Logf("greenfield apply: %.1f s", r.elapsed.Seconds())
	assertNoSecrets(t, r.stdout+r.stderr)

	waitVIP(t, "pg-0", 60*time.Second)
	id, _ := waitWrite(ctx, t, "greenfield", 30*time.Second)
	waitReplicated(ctx, t, nodeAddr("pg-1"), id, 60*time.Second)
	if got := role(t, "pg-1"); got != "standby" {
		t.Errorf("pg-1 role = %q, want standby", got)
	}
	waitState(t, "pg-0", "MASTER")
	waitState(t, "pg-1", "FAULT")
}

func waitState(t *testing.T, node, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if vrrpState(t, node) == want {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("keepalived on %s is %q, want %s", node, vrrpState(t, node), want)
}

// nodeMarks are what a no-op apply must leave untouched.
func nodeMarks(t *testing.T) map[string]string {
	m := map[string]string{}
	for i := 0; i < labNodes; i++ {
		n := nodeName(i)
		m[n] = mustOnNode(t, n, `docker inspect -f '{{.State.StartedAt}}' pg; systemctl show -p MainPID --value keepalived; stat -c '%Y %i' /etc/keepalived/keepalived.conf /etc/haup/check.json /usr/local/libexec/haup/haup-check`)
	}
	return m
}

func idempotent(t *testing.T, metrics map[string]float64) {
	before := nodeMarks(t)
	r := mustHaup(t, 0, "diff", labInventory)
	metrics["noop_diff_s"] = r.elapsed.Seconds()
	if lines := planLines(r.stdout); len(lines) != 0 {
		t.Errorf("diff right after apply lists changes: %v", lines)
	}
	r = mustHaup(t, 0, "apply", "--ssh-stats", labInventory)
	metrics["noop_apply_s"] = r.elapsed.Seconds()
	if lines := planLines(r.stdout); len(lines) != 0 {
		t.Errorf("second apply made changes: %v", lines)
	}
	conns, sessions := sshStats(t, r.stderr)
	metrics["noop_ssh_connections_per_node"] = conns
	metrics["noop_ssh_sessions_per_node"] = sessions
	t.Logf("no-op diff %.2f s, no-op apply %.2f s, %.1f connections and %.1f sessions per node",
		metrics["noop_diff_s"], metrics["noop_apply_s"], conns, sessions)
	if after := nodeMarks(t); !equalMaps(before, after) {
		t.Errorf("no-op apply touched nodes:\nbefore %v\nafter  %v", before, after)
	}
}

// sshStats reads the "ssh: NODE: N connections, M sessions" lines that
// --ssh-stats prints, averaged per node.
func sshStats(t *testing.T, stderr string) (conns, sessions float64) {
	n := 0
	for _, l := range strings.Split(stderr, "\n") {
		var node string
		var c, s int
		if _, err := fmt.Sscanf(l, "haup: ssh: %s %d connections, %d sessions", &node, &c, &s); err == nil {
			conns += float64(c)
			sessions += float64(s)
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no ssh stats in stderr:\n%s", stderr)
	}
	return conns / float64(n), sessions / float64(n)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// withCheckInterval writes a copy of the lab inventory, beside it so its
// relative paths still resolve, with another check interval.
func withCheckInterval(t *testing.T, interval int) string {
	return labInventoryWith(t, "inventory-drift.yaml", func(doc map[string]any) {
		k, _ := doc["keepalived"].(map[string]any)
		check, _ := k["check"].(map[string]any)
		if check == nil {
			check = map[string]any{}
		}
		check["interval"] = interval
		k["check"] = check
	})
}

// labInventoryWith writes the lab's inventory, changed by change, as
// .lab/NAME (removed at the test's end) and returns its path.
func labInventoryWith(t *testing.T, name string, change func(doc map[string]any)) string {
	b, err := os.ReadFile(filepath.Join(repoRoot, labInventory))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	change(doc)
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(repoRoot, ".lab", name)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}

func drift(t *testing.T) {
	holder := vipHolders()
	if len(holder) != 1 {
		t.Fatalf("VIP holders before drift: %v", holder)
	}
	primary := holder[0]
	standby := "pg-1"
	if primary == "pg-1" {
		standby = "pg-0"
	}
	mustOnNode(t, standby, `sed -i 's/^    advert_int 0.1$/    advert_int 2/' /etc/keepalived/keepalived.conf && systemctl stop keepalived`)
	inv := withCheckInterval(t, 3)

	s := sampleVIP()
	r := mustHaup(t, 2, "diff", inv)
	got := planLines(r.stdout)
	want := []string{
		primary + ": ~ file /etc/keepalived/keepalived.conf: content changed",
		primary + ": ~ service keepalived: reload (/etc/keepalived/keepalived.conf changed); the VIP stays where it is",
		standby + ": ~ file /etc/keepalived/keepalived.conf: content changed",
		standby + ": + service keepalived: enable and start (it is inactive)",
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("drift diff:\n%s\nwant exactly:\n%s\nfull output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), r.stdout)
	}
	if !strings.Contains(r.stdout, "-    advert_int 2") || !strings.Contains(r.stdout, "+    interval 3") {
		t.Errorf("drift diff does not show the edits:\n%s", r.stdout)
	}
	primaryPID := mustOnNode(t, primary, "systemctl show -p MainPID --value keepalived")
	mustHaup(t, 0, "apply", inv)
	mustHaup(t, 0, "diff", inv)
	if pid := mustOnNode(t, primary, "systemctl show -p MainPID --value keepalived"); pid != primaryPID {
		t.Errorf("keepalived on the primary was restarted (pid %s -> %s); a reload suffices", primaryPID, pid)
	}
	time.Sleep(3 * time.Second)
	dual, samples := s.stop()
	if h := vipHolders(); len(h) != 1 || h[0] != primary {
		t.Errorf("the VIP moved during drift repair: now %v", h)
	}
	if dual > 0 {
		t.Errorf("two VIP holders for %s during drift repair (%d samples)", dual, samples)
	}
	// Back to the lab inventory's settings for the steps that follow.
	mustHaup(t, 0, "apply", labInventory)
}

func failoverKill(ctx context.Context, t *testing.T) {
	s := sampleVIP()
	d := drill(ctx, t, func(node string) { mustOnNode(t, node, "docker kill pg >/dev/null") },
		func(node string) { mustOnNode(t, node, "docker start pg >/dev/null") })
	t.Logf("container killed: VIP moved in %.1f s, first write after %.1f s", d.vip.Seconds(), d.write.Seconds())
	if dual, n := s.stop(); dual > 0 {
		t.Errorf("two VIP holders for %s (%d samples)", dual, n)
	}
}

func failoverPowerOff(ctx context.Context, t *testing.T) {
	s := sampleVIP()
	d := drill(ctx, t, func(node string) { mustHaup(t, 0, "lab", "power-off", node) },
		func(node string) { mustHaup(t, 0, "lab", "power-on", node) })
	t.Logf("node powered off: VIP moved in %.1f s, first write after %.1f s", d.vip.Seconds(), d.write.Seconds())
	if dual, n := s.stop(); dual > 0 {
		t.Errorf("two VIP holders for %s (%d samples)", dual, n)
	}
}

type drillResult struct{ vip, write time.Duration }

// drill fails the current primary, checks that the standby is promoted, takes
// the VIP and accepts writes, then brings the old primary back and checks it
// rejoins as a standby without taking the VIP.
func drill(ctx context.Context, t testing.TB, fail, recover func(node string)) drillResult {
	t.Helper()
	holders := vipHolders()
	if len(holders) != 1 {
		t.Fatalf("VIP holders before the drill: %v", holders)
	}
	old := holders[0]
	next := "pg-0"
	if old == "pg-0" {
		next = "pg-1"
	}
	start := time.Now()
	fail(old)
	waitVIP(t, next, 90*time.Second)
	vipAt := time.Since(start)
	id, _ := waitWrite(ctx, t, "after failover", 90*time.Second)
	writeAt := time.Since(start)
	recover(old)
	waitRole(t, old, "standby", 180*time.Second)
	waitReplicated(ctx, t, nodeAddr(old), id, 60*time.Second)
	if h := vipHolders(); len(h) != 1 || h[0] != next {
		t.Fatalf("after %s rejoined, VIP holders are %v, want [%s]", old, h, next)
	}
	// The next step starts from a healthy cluster: the rejoined node's
	// fencing record goes at its agent's next run.
	waitHealthy(t, 2*time.Minute)
	return drillResult{vip: vipAt, write: writeAt}
}

func badInput(t *testing.T) {
	before := nodeMarks(t)
	dir := filepath.Join(repoRoot, ".lab")
	cases := map[string]struct{ yaml, want string }{
		"unknown-field": {"keepalived:\n  virtual_router: 51\n", "virtual_router"},
		"router-id":     {"keepalived:\n  virtual_router_id: 300\n", "virtual_router_id"},
		"long-auth":     {"keepalived:\n  auth_pass: {env: HAUP_E2E_LONG_PASS}\n", "auth_pass"},
		"not-yaml":      {"nodes: [\n", "inventory"},
	}
	os.Setenv("HAUP_E2E_LONG_PASS", "123456789")
	for name, c := range cases {
		path := filepath.Join(dir, "bad-"+name+".yaml")
		b, err := os.ReadFile(filepath.Join(repoRoot, labInventory))
		if err != nil {
			t.Fatal(err)
		}
		content := overlay(t, string(b), c.yaml)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		r := haup(t, "apply", path)
		os.Remove(path)
		if r.code != 1 {
			t.Errorf("%s: apply exit %d, want 1\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "bad-"+name+".yaml") || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: error does not point at the inventory and %q:\n%s", name, c.want, r.stderr)
		}
	}
	if after := nodeMarks(t); !equalMaps(before, after) {
		t.Errorf("bad input touched nodes:\nbefore %v\nafter  %v", before, after)
	}
}

// overlay merges the keys of patch (YAML) into the keepalived section of
// the inventory text, or appends raw text when patch is not a mapping.
func overlay(t *testing.T, inv, patch string) string {
	var p map[string]map[string]any
	if yaml.Unmarshal([]byte(patch), &p) != nil || p == nil {
		return inv + "\n" + patch
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(inv), &doc); err != nil {
		t.Fatal(err)
	}
	k := doc["keepalived"].(map[string]any)
	for key, v := range p["keepalived"] {
		k[key] = v
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func assertNoSecrets(t *testing.T, text string) {
	t.Helper()
	for _, name := range []string{"postgres-password", "repmgr-password", "vrrp-auth-pass"} {
		b, err := os.ReadFile(labPath("secrets/" + name))
		if err != nil {
			continue
		}
		if s := strings.TrimSpace(string(b)); s != "" && strings.Contains(text, s) {
			t.Errorf("haup printed the secret %s", name)
		}
	}
}

// clusterStatus runs haup status --json and returns the verdict, the reasons
// and the exit code; the table form must agree on the verdict.
func clusterStatus(t *testing.T) (verdict string, reasons string, code int) {
	t.Helper()
	r := haup(t, "status", "--json", labInventory)
	var st struct {
		Verdict string   `json:"verdict"`
		Reasons []string `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s%s", err, r.stdout, r.stderr)
	}
	return st.Verdict, strings.Join(st.Reasons, "; "), r.code
}

// tableAgrees checks that the table form gives the same verdict and exit
// code as the JSON form did. The two are separate runs: a table that
// differs is compared again with a JSON form taken after it, and a cluster
// that moved on meanwhile (a failover ending while the table was asked) is
// no disagreement; a table that differs from the JSON forms before and
// after it, ten times running, is.
func tableAgrees(t *testing.T, verdict string, code int) {
	t.Helper()
	var table result
	for i := 0; i < 10; i++ {
		table = haup(t, "status", labInventory)
		if table.code == code && strings.Contains(table.stdout, "Verdict: "+verdict) {
			return
		}
		if v, reasons, c := clusterStatus(t); v != verdict || c != code {
			t.Logf("the cluster moved from %s (exit %d) to %s (exit %d: %s) while the table was asked: not compared", verdict, code, v, c, reasons)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("the table (exit %d) does not say %s (exit %d):\n%s", table.code, verdict, code, table.stdout)
}

// waitStatus polls haup status until it gives want, and returns its reasons.
func waitStatus(t *testing.T, want string, code int, timeout time.Duration) string {
	t.Helper()
	start := time.Now()
	var v, reasons string
	var c int
	for time.Since(start) < timeout {
		if v, reasons, c = clusterStatus(t); v == want && c == code {
			tableAgrees(t, want, code)
			return reasons
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("status is %s (exit %d: %s), want %s (exit %d)", v, c, reasons, want, code)
	return ""
}

// statusVerdicts creates each situation haup status must recognise, for
// real, and checks the verdict, the JSON and the exit code.
func statusVerdicts(ctx context.Context, t *testing.T) {
	reasons := waitStatus(t, "healthy", 0, 60*time.Second)
	t.Logf("healthy: %s", reasons)
	primary := vipHolders()[0]
	standby := "pg-1"
	if primary == "pg-1" {
		standby = "pg-0"
	}

	// A stopped standby: degraded.
	mustOnNode(t, standby, "docker stop pg >/dev/null")
	reasons = waitStatus(t, "degraded", 2, 30*time.Second)
	if !strings.Contains(reasons, standby+"'s database is down") {
		t.Errorf("degraded for another reason: %s", reasons)
	}
	mustOnNode(t, standby, "docker start pg >/dev/null")
	waitStatus(t, "healthy", 0, 120*time.Second)

	// The standby's repmgrd stuck (frozen): it would not fail over, so the
	// cluster is degraded, and a drill refuses to start; thawed, healthy.
	mustOnNode(t, standby, "kill -STOP $(docker inspect -f {{.State.Pid}} pg)") // repmgrd is the container's PID 1: signalled from the node, not from inside
	reasons = waitStatus(t, "degraded", 2, 30*time.Second)
	if !strings.Contains(reasons, standby+": repmgrd last reached its upstream") {
		t.Errorf("stuck repmgrd: degraded for another reason: %s", reasons)
	}
	if r := haup(t, "drill", "--fault", "kill", "--yes", labInventory); r.code != 1 || !strings.Contains(r.stderr, "repmgrd last reached its upstream") {
		t.Errorf("drill with a stuck repmgrd: exit %d, want 1 naming it:\n%s", r.code, r.stderr)
	}
	mustOnNode(t, standby, "kill -CONT $(docker inspect -f {{.State.Pid}} pg)")
	waitStatus(t, "healthy", 0, 30*time.Second)

	// The primary killed, mid-failover: no primary and no VIP holder.
	mustOnNode(t, primary, "docker kill pg >/dev/null")
	reasons = waitStatus(t, "critical", 3, 30*time.Second)
	t.Logf("mid-failover: %s", reasons)
	waitVIP(t, standby, 90*time.Second)
	mustOnNode(t, primary, "docker start pg >/dev/null")
	waitStatus(t, "healthy", 0, 180*time.Second)
	primary, standby = standby, primary

	// The network between the nodes cut: the standby is promoted too, both
	// databases are primary and both nodes take the VIP: split brain.
	mustHaup(t, 0, "lab", "cut", "pg-0", "pg-1")
	reasons = waitStatus(t, "critical", 3, 90*time.Second)
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(reasons, "split brain") && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		_, reasons, _ = clusterStatus(t)
	}
	if !strings.Contains(reasons, "split brain") {
		t.Errorf("cut network: critical but not split brain: %s", reasons)
	}
	t.Logf("cut network: %s", reasons)
	// Healing: once the nodes see each other again, the stale primary (the
	// older timeline) is fenced by its own check and rejoins as a standby,
	// with no command run by hand.
	mustHaup(t, 0, "lab", "restore", "pg-0", "pg-1")
	waitVIP(t, standby, 60*time.Second)
	waitStatus(t, "healthy", 0, 180*time.Second)
	if _, err := writeThroughVIP(ctx, t, "after split brain"); err != nil {
		t.Errorf("write through the VIP after healing: %v", err)
	}
}
