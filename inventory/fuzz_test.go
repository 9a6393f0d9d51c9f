package inventory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

// FuzzLoad: no input makes Load panic, and every inventory Load accepts
// renders, for each node, a keepalived.conf that keepalived's own config
// test accepts without a warning (when keepalived, ip, unshare and root are
// at hand). Its seeds run with every `go test`.
func FuzzLoad(f *testing.F) {
	f.Setenv("HAUP_TEST_REPMGR", "from-env")
	f.Setenv("HAUP_TEST_AUTH_CHARS", "a%&*;(,")
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range append(seeds, "../examples/two-node.yaml") {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// testdata/ holds the secrets the seeds name.
		inv, _, err := inventory.Parse(context.Background(), "testdata/fuzz.yaml", data)
		if err != nil {
			if inv != nil {
				t.Fatalf("an inventory and an error: %v", err)
			}
			return
		}
		checkAccepted(t, inv)
	})
}

// FuzzFields varies the values keepalived.conf is made of inside a valid
// inventory, where FuzzLoad mostly breaks the YAML: whatever Load accepts
// must pass keepalived -t.
func FuzzFields(f *testing.F) {
	f.Add("10.1.0.100/24", 7, 1, "pass1234", "eth0", 2, 1, 2, 1, "pg-0", "pg-1", "10.1.0.11", "10.1.0.12", "", 100, 90)
	f.Add("192.168.89.134/24", 255, 255, "a%&*;(,", "ens3.10", 3600, 3599, 1000, 1000, "a.b-7", "x-2147482647", "192.168.89.131", "192.168.89.133", "192.168.89.1", 253, 1)
	f.Add("10.0.0.1/8", 1, 2, "~`^|<>?/", "e_1-x", 5, 2, 1, 1, "db-1", "db-2", "10.255.255.254", "10.0.0.2", "10.0.0.3", 1, 253)
	f.Fuzz(func(t *testing.T, vip string, vrid, advert int, auth, iface string, interval, timeout, fall, rise int,
		name0, name1, addr0, addr1, src1 string, prio0, prio1 int) {
		q := func(s string) string {
			b, _ := json.Marshal(s) // JSON strings are YAML strings
			return string(b)
		}
		dir := t.TempDir()
		inv := fmt.Sprintf(`keepalived:
  virtual_ipaddress: %s
  virtual_router_id: %d
  advert_int: %d
  auth_pass: {file: auth}
  interface: %s
  check: {interval: %d, timeout: %d, fall: %d, rise: %d}
database:
  image: pg:14
  postgres_password: {file: auth}
  repmgr_password: {file: auth}
ssh: {agent: true}
nodes:
  - {name: %s, address: %s, priority: %d}
  - {name: %s, address: %s, priority: %d}
`, q(vip), vrid, advert, q(iface), interval, timeout, fall, rise, q(name0), q(addr0), prio0, q(name1), q(addr1), prio1)
		if src1 != "" {
			inv = strings.TrimSuffix(inv, "}\n") + ", unicast_src_ip: " + q(src1) + "}\n"
		}
		path := filepath.Join(dir, "inventory.yaml")
		if err := errors.Join(os.WriteFile(path, []byte(inv), 0o600), os.WriteFile(filepath.Join(dir, "auth"), []byte(auth), 0o600)); err != nil {
			t.Fatal(err)
		}
		got, _, err := inventory.Parse(context.Background(), path, []byte(inv))
		if err == nil {
			checkAccepted(t, got)
		}
	})
}

// checkAccepted renders every node's keepalived.conf and, when it can,
// runs keepalived -t on the first three.
func checkAccepted(t *testing.T, inv *inventory.Inventory) {
	for i, n := range inv.Nodes {
		conf, err := renderKeepalived(inv, n)
		if err != nil {
			t.Fatalf("accepted, but %s's keepalived.conf does not render: %v", n.Name, err)
		}
		if i < 3 && keepalivedUsable() {
			if out, err := keepalivedTest(t, conf, n, inv.Keepalived.VirtualIPAddress); err != nil || out != "" {
				t.Fatalf("accepted, but keepalived -t refuses %s's keepalived.conf: %v\n%s\n%s", n.Name, err, out, conf)
			}
			t.Logf("keepalived -t accepts %s's keepalived.conf", n.Name)
		}
	}
}

// renderKeepalived is the node's keepalived.conf as haup renders it (haup
// render's way: no agent binary).
func renderKeepalived(inv *inventory.Inventory, n inventory.Node) ([]byte, error) {
	noBinary := func(string, string) ([]byte, error) { return nil, nil }
	d, err := desired.DesiredState(inv, n, "amd64", noBinary)
	if err != nil {
		return nil, err
	}
	for _, f := range d.Files {
		if f.Path == desired.KeepalivedConfPath {
			return f.Content, nil
		}
	}
	return nil, fmt.Errorf("no %s among the files", desired.KeepalivedConfPath)
}

// keepalivedUsable: keepalived -t needs root for its namespaces, and is
// left out of the hermetic run (-short).
var keepalivedUsable = sync.OnceValue(func() bool {
	if os.Geteuid() != 0 || testing.Short() {
		return false
	}
	for _, p := range []string{"keepalived", "ip", "unshare"} {
		if _, err := exec.LookPath(p); err != nil {
			return false
		}
	}
	return true
})

// keepalivedTest runs `keepalived -t` on conf as desired/keepalived_config_test.go
// does: in a private network namespace where the node's interface (a veth: containers
// may lack the dummy module) exists with
// its address (keepalived -t fails on a missing interface), and a private
// mount namespace where the check and notify programs sit at their secure
// paths. It returns keepalived's output.
func keepalivedTest(t *testing.T, conf []byte, n inventory.Node, vip string) (string, error) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	bits := netip.MustParsePrefix(vip).Bits()
	script := fmt.Sprintf(`set -e
peer=hp0; [ "$1" != hp0 ] || peer=hp1
ip link add "$1" type veth peer name $peer || exit 97
ip addr add "$2" dev "$1" || exit 97
ip link set "$1" up || exit 97
mount -t tmpfs -o mode=0755 tmpfs /usr/local || exit 97
mkdir -p %[1]s %[2]s
printf '#!/bin/sh\nexit 0\n' > %[3]s
printf '#!/bin/sh\nexit 0\n' > %[4]s
chmod 0755 %[3]s %[4]s
keepalived -t -f "$3"`, filepath.Dir(nodeapi.BinaryPath), filepath.Dir(desired.NotifyPath), nodeapi.BinaryPath, desired.NotifyPath)
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private",
		"sh", "-c", script, "sh", n.Interface, fmt.Sprintf("%s/%d", n.UnicastSrcIP, bits), path)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 97 {
		t.Fatalf("setting up %s with %s/%d: %s", n.Interface, n.UnicastSrcIP, bits, out)
	}
	return strings.TrimSpace(string(out)), err
}
