package desired

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/testenv"
	"github.com/haup-project/haup/nodeapi"
)

// TestExampleConfigsPassKeepalivedConfigTest renders the example's
// keepalived.conf for each node and runs keepalived's own config test on it in
// a network namespace where the node's interface exists with its address, and
// a private mount namespace where the check program sits at its secure path.
func TestExampleConfigsPassKeepalivedConfigTest(t *testing.T) {
	testenv.Need(t, true, "keepalived", "ip", "unshare")
	inv := fixture.Example(t)
	for i, n := range inv.Nodes {
		d, err := DesiredState(inv, n, "amd64", fixture.FakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		var conf []byte
		for _, f := range d.Files {
			if f.Path == KeepalivedConfPath {
				conf = f.Content
			}
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(path, conf, 0o600); err != nil {
			t.Fatal(err)
		}
		ns := fmt.Sprintf("haup-kt-%d-%d", os.Getpid(), i)
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "netns", "exec", ns, "ip", "link", "add", n.Interface, "type", "veth", "peer", "name", "peer0")
		run(t, "ip", "netns", "exec", ns, "ip", "addr", "add", n.UnicastSrcIP+"/24", "dev", n.Interface)
		script := fmt.Sprintf(`set -e
mount -t tmpfs -o mode=0755 tmpfs /usr/local
mkdir -p %[1]s
printf '#!/bin/sh\nexit 0\n' > %[2]s
chmod 0755 %[2]s
keepalived -t -f %[3]s`, filepath.Dir(nodeapi.BinaryPath), nodeapi.BinaryPath, path)
		out, err := exec.Command("ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Errorf("%s: keepalived -t failed: %v\n%s", n.Name, err, out)
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("%s: keepalived -t printed warnings:\n%s", n.Name, s)
		}
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
