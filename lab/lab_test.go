package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/apply"
	"github.com/haup-project/haup/internal/benchout"
	"github.com/haup-project/haup/internal/testenv"
	"github.com/haup-project/haup/remote"
)

var repo, _ = filepath.Abs("..")

// haupBinary builds haup (with the embedded check) once per test run.
func haupBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("make", "-s", "build", "BIN="+dir)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "haup")
}

func labCmd(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"lab"}, args...)...)
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustLab(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := labCmd(t, bin, args...)
	if err != nil {
		t.Fatalf("haup lab %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// sshTo connects to a node the way haup does: lab key, strict known_hosts.
func sshTo(t *testing.T, addr string) (*remote.SSHHost, error) {
	return remote.Dial(context.Background(), remote.SSHConfig{
		Name: addr, Address: addr, Port: 22, User: "root",
		IdentityFiles:  []string{filepath.Join(repo, ".lab", "id_ed25519")},
		KnownHostsFile: filepath.Join(repo, ".lab", "known_hosts"), ConnectTimeout: 3 * time.Second,
	})
}

func run(t *testing.T, h remote.Host, script string) string {
	t.Helper()
	res, err := h.Exec(context.Background(), script)
	if err != nil {
		t.Fatalf("%s: %q: %v", h.Name(), script, err)
	}
	return strings.TrimSpace(string(res.Stdout))
}

// reach reports whether node a can open a TCP connection to b's sshd.
func reach(t *testing.T, h remote.Host, b string) bool {
	_, err := h.Exec(context.Background(), fmt.Sprintf("timeout 2 bash -c 'exec 3<>/dev/tcp/%s/22'", b))
	return err == nil
}

func TestLab(t *testing.T) {
	testenv.Need(t, true, "systemd-nspawn", "debootstrap", "docker")
	bin := haupBinary(t)
	labCmd(t, bin, "down")
	mustLab(t, bin, "up")
	t.Cleanup(func() { labCmd(t, bin, "down") })

	addrs := []string{"10.77.0.11", "10.77.0.12"}
	var hosts []*remote.SSHHost
	for _, a := range addrs {
		h, err := sshTo(t, a)
		if err != nil {
			t.Fatalf("ssh %s with strict host key checking: %v", a, err)
		}
		defer h.Close()
		hosts = append(hosts, h)
	}
	for _, h := range hosts {
		if s := run(t, h, "systemctl is-system-running --wait || true"); s != "running" {
			t.Errorf("%s: systemctl is-system-running = %s", h.Name(), s)
		}
		run(t, h, "docker info >/dev/null")
		out := run(t, h, "apt-get update -q >/dev/null && apt-get install -s keepalived | grep '^Inst keepalived'")
		if !strings.Contains(out, "keepalived") {
			t.Errorf("%s: keepalived does not resolve from the lab mirror: %s", h.Name(), out)
		}
		if k := os.Getenv("HAUP_LAB_KEEPALIVED"); (k == "" || k == "vendored") && !strings.Contains(out, "("+vendoredKeepalivedPackage+" ") {
			t.Errorf("%s: apt would install %s, want keepalived %s (the vendored build)", h.Name(), out, vendoredKeepalivedPackage)
		}
		run(t, h, "docker pull -q 10.77.0.254:5000/haup/postgresql-repmgr:15 >/dev/null")
		if run(t, h, "ip route | grep -c default || true") != "0" {
			t.Errorf("%s has a default route: lab traffic could leave the machine", h.Name())
		}
	}
	if !reach(t, hosts[0], addrs[1]) || !reach(t, hosts[1], addrs[0]) {
		t.Fatal("nodes cannot reach each other")
	}

	// Cut and restore the network between the nodes.
	mustLab(t, bin, "cut", "pg-0", "pg-1")
	if reach(t, hosts[0], addrs[1]) || reach(t, hosts[1], addrs[0]) {
		t.Error("nodes still reach each other after cut")
	}
	if _, err := hosts[0].Exec(context.Background(), "true"); err != nil {
		t.Errorf("the host lost SSH to a cut node: %v", err)
	}
	mustLab(t, bin, "restore", "pg-0", "pg-1")
	if !reach(t, hosts[0], addrs[1]) {
		t.Error("nodes do not reach each other after restore")
	}

	// Freeze and thaw a process.
	run(t, hosts[1], "systemd-run --unit haup-lab-sleeper sleep 1000 >/dev/null 2>&1")
	mustLab(t, bin, "freeze", "pg-1", "sleep 1000")
	if s := run(t, hosts[1], "ps -o stat= -C sleep"); !strings.HasPrefix(s, "T") {
		t.Errorf("frozen process state %q, want T", s)
	}
	mustLab(t, bin, "thaw", "pg-1", "sleep 1000")
	if s := run(t, hosts[1], "ps -o stat= -C sleep"); strings.HasPrefix(s, "T") {
		t.Errorf("thawed process state %q", s)
	}

	// Power a node off and on.
	mustLab(t, bin, "power-off", "pg-1")
	if reach(t, hosts[0], addrs[1]) {
		t.Error("a powered-off node still answers")
	}
	mustLab(t, bin, "power-on", "pg-1")
	h, err := sshTo(t, addrs[1])
	if err != nil {
		t.Fatalf("ssh after power-on: %v", err)
	}
	h.Close()
	if out := mustLab(t, bin, "status"); !strings.Contains(out, "pg-1") || !strings.Contains(out, "running") {
		t.Errorf("status:\n%s", out)
	}

	// Down leaves nothing behind.
	mustLab(t, bin, "down")
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), "haup-") {
		t.Errorf("namespaces left: %s", out)
	}
	if exec.Command("ip", "link", "show", "haup-lab0").Run() == nil {
		t.Error("bridge left")
	}
	if out, _ := exec.Command("pgrep", "-f", "systemd-nspawn.*haup-lab|docker-registry serve|lab serve-mirror").Output(); len(out) > 0 {
		t.Errorf("processes left: %s", out)
	}
	if _, err := os.Stat("/var/lib/haup-lab"); !os.IsNotExist(err) {
		t.Errorf("state left: %v", err)
	}
}

// TestLabUpTimes measures a cold up (caches removed) and a warm one, for
// `make bench` (HAUP_BENCH=1).
func TestLabUpTimes(t *testing.T) {
	if os.Getenv("HAUP_BENCH") == "" {
		t.Skip("a benchmark: make bench runs it")
	}
	testenv.Need(t, true, "systemd-nspawn", "debootstrap", "docker")
	bin := haupBinary(t)
	labCmd(t, bin, "down")
	// make test's end-to-end test measured the cold lab up when it ran on
	// a machine without the caches (CI's fresh machine), and make bench
	// copied its figures: building every cache again would cost most of
	// CI's time for the same figure.
	var cold time.Duration
	if benchout.Has(benchout.Path(), "lab_up_cold_s") {
		fmt.Println("lab up: the cold figure is the one make test measured on this machine without caches")
	} else {
		start := time.Now()
		mustLab(t, bin, "up", "--no-cache")
		cold = time.Since(start)
		mustLab(t, bin, "down")
	}
	start := time.Now()
	mustLab(t, bin, "up")
	warm := time.Since(start)
	t.Cleanup(func() { labCmd(t, bin, "down") })
	version := nodeKeepalived(t, bin, "pg-0")
	mustLab(t, bin, "down")
	figures := map[string]float64{"lab_up_warm_s": warm.Seconds()}
	if cold > 0 {
		figures["lab_up_cold_s"] = cold.Seconds()
	}
	fmt.Printf("lab up: cold %.1f s, warm %.1f s; the nodes install keepalived %s\n", cold.Seconds(), warm.Seconds(), version)
	if err := benchout.Record(benchout.Path(), figures); err != nil {
		t.Fatal(err)
	}
	if err := benchout.RecordStrings(benchout.Path(), map[string]string{"lab_keepalived_version": version}); err != nil {
		t.Fatal(err)
	}
	if k := os.Getenv("HAUP_LAB_KEEPALIVED"); (k == "" || k == "vendored") && version != vendoredKeepalived {
		t.Errorf("the lab's nodes install keepalived %s, want %s (the production version)", version, vendoredKeepalived)
	}
}

// nodeKeepalived installs keepalived on a node of the lab that is up from the
// lab mirror, with haup's own install command, and returns the version the
// installed keepalived reports.
func nodeKeepalived(t *testing.T, bin, node string) string {
	t.Helper()
	out := mustLab(t, bin, "exec", node, "--", "sh", "-c", apply.InstallKeepalivedScript+"keepalived --version 2>&1")
	m := keepalivedVersion.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: keepalived --version:\n%s", node, out)
	}
	return m[1]
}
