package cmd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/internal/testenv"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/status"
	"github.com/haup-project/haup/tasks"
)

// sampleFacts is a healthy two-node cluster of the example inventory as the
// probe reports it: pg-0 primary with the VIP, pg-1 an idle standby whose
// last replayed transaction is 58 s old (no lag: nothing was written).
func sampleFacts() map[string]*probe.Facts {
	at := time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC)
	image := "wjy2020/timescaledb-repmgr:pg14.15-ts2.17.2"
	node := func(role, vrrp string, vip bool) *probe.Facts {
		return &probe.Facts{Version: probe.Version, At: at, Arch: "amd64", HasApt: true, HasSystemd: true, Docker: "27.3.1",
			Iface:      probe.Iface{Found: true, HoldsVIP: vip},
			Keepalived: probe.Keepalived{Package: "1:2.2.8-1", Version: "2.2.8", Active: "active", Enabled: true, State: vrrp},
			Container:  &probe.Container{Image: image, Status: "running"},
			Database: &nodeapi.StatusReport{Report: nodeapi.Report{Role: role, Timeline: 2},
				PostgreSQL: "14.15", TimescaleDB: "2.17.2"},
			Files: map[string]probe.FileFact{}, Dirs: map[string]probe.FileFact{}}
	}
	p := node(nodeapi.RolePrimary, "MASTER", true)
	p.Database.Replication = []nodeapi.Replication{{Peer: "192.168.89.133", State: "streaming"}}
	p.LastCheck = &nodeapi.Report{Pass: true, Reason: "primary on timeline 2; pg-1 streams from it", At: at}
	s := node(nodeapi.RoleStandby, "FAULT", false)
	s.Database.Replication = []nodeapi.Replication{{Peer: "192.168.89.131", State: "streaming", LagBytes: 0, LagSeconds: 58}}
	s.Database.Repmgrd = &nodeapi.RepmgrdState{Running: true, UpstreamLastSeenS: 0}
	s.LastCheck = &nodeapi.Report{Pass: false, Reason: "local database is a standby (in recovery)", At: at}
	s.Gate = &agent.Gate{Version: agent.GateVersion, Node: "pg-1", At: at, Eligible: true, Code: agent.GateEligible,
		Reason: "promotion allowed: within max_lag_on_failover: 0 bytes behind, 0 s of writes at most"}
	return map[string]*probe.Facts{"pg-0": p, "pg-1": s}
}

// fakeCluster answers each node's probe with facts, through the same
// gather and status code as `haup status`.
func fakeCluster(t *testing.T, facts map[string]*probe.Facts) (*inventory.Inventory, *status.ClusterStatus) {
	t.Helper()
	inv, err := inventory.Load("../examples/two-node.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hosts := tasks.Hosts{}
	for name, f := range facts {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		hosts[name] = remote.NewFake(name).OnStdout("facts", "haup-uname x86_64\n"+string(b)+"\n")
	}
	st := status.ClusterStatusOf(context.Background(), inv, hosts, nil, nil, status.Options{MaxLag: 30 * time.Second})
	return inv, st
}

// TestStatusTableGolden: the table at 80 and 120 columns (COLUMNS, as when
// the output is not a terminal) and with -o wide; --json carries every
// fact in full whatever the width.
func TestStatusTableGolden(t *testing.T) {
	_, st := fakeCluster(t, sampleFacts())
	for _, tc := range []struct {
		golden, columns, output string
	}{
		{"status-80.txt", "", ""},
		{"status-120.txt", "120", ""},
		{"status-wide.txt", "", outputWide},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			t.Setenv("COLUMNS", tc.columns)
			var out bytes.Buffer
			if err := printStatus(&out, st, &statusFlags{output: tc.output}); err != nil {
				t.Fatal(err)
			}
			testenv.Golden(t, filepath.Join("testdata", "status", tc.golden), out.Bytes())
			if tc.output == outputWide {
				return
			}
			width := status.DefaultWidth
			if tc.columns != "" {
				width, _ = strconv.Atoi(tc.columns)
			}
			table, _, _ := strings.Cut(out.String(), "\n\n")
			for _, l := range strings.Split(table, "\n") {
				if len([]rune(l)) > width {
					t.Errorf("%d columns: a row of %d: %q", width, len([]rune(l)), l)
				}
			}
		})
	}
	var out bytes.Buffer
	t.Setenv("COLUMNS", "40")
	if err := printStatus(&out, st, &statusFlags{asJSON: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"image": "wjy2020/timescaledb-repmgr:pg14.15-ts2.17.2"`, `"keepalived_version": "2.2.8"`,
		`"keepalived_package": "1:2.2.8-1"`, `"reason": "local database is a standby (in recovery)"`, `"lag_seconds": 58`, `"timescaledb": "2.17.2"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--json lacks %s:\n%s", want, out.String())
		}
	}
}

// TestStatusBadFlags: a bad interval or output format stops status with
// exit 1 and one clear error, before the inventory's nodes are contacted.
func TestStatusBadFlags(t *testing.T) {
	// One listener per node stands for its sshd and counts connections.
	var accepted atomic.Int32
	var ports []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ports = append(ports, port)
	}
	dir := t.TempDir()
	b, err := os.ReadFile("../examples/two-node.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inv := strings.Replace(string(b), "    priority: 100", "    priority: 100\n    ssh: {address: 127.0.0.1, port: "+ports[0]+"}", 1)
	inv = strings.Replace(inv, "    priority: 90", "    priority: 90\n    ssh: {address: 127.0.0.1, port: "+ports[1]+"}", 1)
	inv = strings.ReplaceAll(inv, "~/.ssh/known_hosts", filepath.Join(dir, "kh"))
	inv = strings.ReplaceAll(inv, "[~/.ssh/id_ed25519]", "[key]")
	inv = strings.ReplaceAll(inv, "agent: true", "agent: false")
	path := filepath.Join(dir, "inv.yaml")
	os.WriteFile(path, []byte(inv), 0o600)
	os.Symlink(filepath.Join(mustAbs(t, "../examples"), "secrets"), filepath.Join(dir, "secrets"))
	_, priv, _ := ed25519.GenerateKey(nil)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "key"), pem.EncodeToMemory(block), 0o600)
	os.WriteFile(filepath.Join(dir, "kh"), nil, 0o600)

	// The inventory is good: status itself reaches the listener.
	if code, _, errOut := runHaup("status", "--connect-timeout", "1s", path); code == 1 || accepted.Load() == 0 {
		t.Fatalf("the good inventory: exit %d, %d connections\n%s", code, accepted.Load(), errOut)
	}
	accepted.Store(0)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--watch", "--interval", "0"}, "--interval must be positive, got 0s"},
		{[]string{"--watch", "--interval", "-5s"}, "--interval must be positive, got -5s"},
		{[]string{"--interval", "5s"}, "--interval is for --watch"},
		{[]string{"-o", "yaml"}, `--output "yaml": unknown format (one of: wide, json)`},
		{[]string{"-o", ""}, `--output "": unknown format (one of: wide, json)`},
		{[]string{"--output="}, `--output "": unknown format (one of: wide, json)`},
		{[]string{"--json", "-o", "wide"}, "--json and -o wide: choose one"},
		{[]string{"--watch", "--json"}, "--watch draws the table: it does not print JSON"},
		{[]string{"--watch", "-o", "json"}, "--watch draws the table: it does not print JSON"},
	} {
		args := append([]string{"status"}, tc.args...)
		code, out, errOut := runHaup(append(args, path)...)
		if code != 1 || out != "" || errOut != "haup: "+tc.want+"\n" && !strings.HasPrefix(errOut, "haup: "+tc.want) {
			t.Errorf("%q: exit %d\nstdout %q\nstderr %q\nwant exit 1 and %q", tc.args, code, out, errOut, tc.want)
		}
		if strings.Count(errOut, "haup: ") != 1 {
			t.Errorf("%q: error printed %d times: %q", tc.args, strings.Count(errOut, "haup: "), errOut)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("bad flags: %d connections to the nodes, want none", n)
	}
}
