package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runHaup(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(args, &o, &e)
	return code, o.String(), e.String()
}

func TestValidateExample(t *testing.T) {
	code, out, errOut := runHaup("validate", "../examples/two-node.yaml")
	if code != 0 || !strings.Contains(out, "valid: 2 nodes, VIP 192.168.89.134/24") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

// TestBadInventoryExitsOneAndPointsAtLines: a bad inventory stops diff and
// apply before any connection, with every problem located, printed once.
func TestBadInventoryExitsOneAndPointsAtLines(t *testing.T) {
	dir := t.TempDir()
	b, _ := os.ReadFile("../examples/two-node.yaml")
	bad := strings.Replace(string(b), "virtual_router_id: 51", "virtual_router_id: 300", 1)
	bad = strings.Replace(bad, "priority: 90", "priority: 0\n    prio: 1", 1)
	path := filepath.Join(dir, "inv.yaml")
	os.WriteFile(path, []byte(bad), 0o600)
	os.Symlink(filepath.Join(mustAbs(t, "../examples"), "secrets"), filepath.Join(dir, "secrets"))
	for _, cmd := range []string{"validate", "diff", "apply", "status", "render"} {
		args := []string{cmd, path}
		if cmd == "render" {
			args = append(args, "-o", t.TempDir())
		}
		code, _, errOut := runHaup(args...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", cmd, code)
		}
		for _, want := range []string{path + ":14: keepalived.virtual_router_id: must be 1..255, got 300", "unknown field \"prio\""} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", cmd, want, errOut)
			}
		}
		// Warnings may precede it (a checkout does not keep the example
		// secrets' 0600 mode); the error itself is printed once.
		if n := strings.Count(errOut, "haup: ") - strings.Count(errOut, "haup: warning: "); n != 1 {
			t.Errorf("%s: error printed %d times:\n%s", cmd, n, errOut)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRenderMasksSecrets(t *testing.T) {
	out := t.TempDir()
	// The example with the recipe's PASS authentication (VRRP version 2).
	ex, err := os.ReadFile("../examples/two-node.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ex = bytes.Replace(ex, []byte("  # vrrp_version: 2\n  # auth_pass:"), []byte("  vrrp_version: 2\n  auth_pass:"), 1)
	ex = bytes.Replace(ex, []byte("\n  advert_int: 0.1"), []byte("\n  advert_int: 1"), 1)
	dir := t.TempDir()
	secrets, _ := filepath.Abs("../examples/secrets")
	if err := os.Symlink(secrets, filepath.Join(dir, "secrets")); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(dir, "two-node-v2.yaml")
	if err := os.WriteFile(inv, ex, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, o, e := runHaup("render", inv, "-o", out); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, o, e)
	}
	conf, err := os.ReadFile(filepath.Join(out, "pg-1", "etc", "keepalived", "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := os.ReadFile("../examples/secrets/vrrp-auth-pass")
	if bytes.Contains(conf, secret) || !bytes.Contains(conf, []byte("auth_pass (sensitive)")) {
		t.Errorf("keepalived.conf not masked:\n%s", conf)
	}
	if !bytes.Contains(conf, []byte("unicast_src_ip 192.168.89.133")) {
		t.Errorf("pg-1's config is not pg-1's:\n%s", conf)
	}
}

func TestUnknownHostStopsDiff(t *testing.T) {
	// Nothing listens on this loopback port: diff fails with exit 1 and
	// names the node, and never prints a plan.
	dir := t.TempDir()
	b, _ := os.ReadFile("../examples/two-node.yaml")
	inv := strings.ReplaceAll(string(b), "port: 22", "port: 1")
	inv = strings.ReplaceAll(inv, "~/.ssh/known_hosts", filepath.Join(dir, "kh"))
	inv = strings.ReplaceAll(inv, "[~/.ssh/id_ed25519]", "[key]")
	inv = strings.ReplaceAll(inv, "agent: true", "agent: false")
	os.WriteFile(filepath.Join(dir, "inv.yaml"), []byte(inv), 0o600)
	os.Symlink(filepath.Join(mustAbs(t, "../examples"), "secrets"), filepath.Join(dir, "secrets"))
	os.WriteFile(filepath.Join(dir, "key"), nil, 0o600)
	code, out, errOut := runHaup("diff", filepath.Join(dir, "inv.yaml"))
	if code != 1 || out != "" || !strings.Contains(errOut, "pg-0:") {
		t.Errorf("exit %d\nstdout %q\nstderr %s", code, out, errOut)
	}
}
