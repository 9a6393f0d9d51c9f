package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haup-project/haup/internal/testenv"
)

func golden(t *testing.T, path string, got string) {
	t.Helper()
	testenv.Golden(t, path, []byte(got))
}

// TestBadInventories checks the exact error of every bad inventory in
// testdata against its .err golden file.
func TestBadInventories(t *testing.T) {
	t.Setenv("HAUP_TEST_LONG_AUTH", "123456789")
	t.Setenv("HAUP_TEST_AUTH_BRACE", "ab}c")
	t.Setenv("HAUP_TEST_AUTH_SPACE", "ab c")
	t.Setenv("HAUP_TEST_NEWLINE", "line\nbreak")
	files, err := filepath.Glob("testdata/bad-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad inventories: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load = %v, want a *ValidationError", err)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".err", err.Error()+"\n")
		})
	}
}

func TestManyProblemsAtOnce(t *testing.T) {
	_, err := Load("testdata/bad-many.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	if len(ve.Problems) < 15 {
		t.Errorf("only %d problems reported:\n%v", len(ve.Problems), err)
	}
	last := 0
	for _, p := range ve.Problems {
		if p.Line < last {
			t.Errorf("problems not sorted by line: %v", err)
		}
		last = p.Line
	}
}

func TestExampleLoads(t *testing.T) {
	inv, warnings, err := LoadWithWarnings("../examples/two-node.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		// git does not keep the example secrets' 0600 mode in a checkout.
		if !strings.Contains(w, "readable by others") {
			t.Errorf("warning: %s", w)
		}
	}
	if got := inv.Keepalived.VirtualIPAddress; got != "192.168.89.134/24" {
		t.Errorf("VIP = %s", got)
	}
	if n := inv.Nodes[1]; n.Interface != "ens33" || n.UnicastSrcIP != "192.168.89.133" || n.RepmgrNodeID() != 1001 {
		t.Errorf("node defaults: %+v", n)
	}
	if inv.Keepalived.Check.Interval != 5 {
		t.Errorf("check interval = %d, want 5", inv.Keepalived.Check.Interval)
	}
}

func TestThreeNodesAndDefaults(t *testing.T) {
	t.Setenv("HAUP_TEST_REPMGR", "from-env")
	inv, err := Load("testdata/good-three-nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Nodes) != 3 {
		t.Fatalf("%d nodes", len(inv.Nodes))
	}
	n := inv.Nodes[2]
	if n.Interface != "eth1" || n.SSH.Port != 2222 || n.SSH.User != "admin" || n.SSH.Address != "10.1.0.13" || n.Priority != 80 {
		t.Errorf("node 3: %+v", n)
	}
	if inv.Nodes[0].SSH.User != "root" || inv.Nodes[0].SSH.Port != 22 || inv.Nodes[1].Priority != 50 {
		t.Errorf("defaults: %+v", inv.Nodes[0])
	}
	if inv.Database.RepmgrPassword.Value() != "from-env" || inv.Database.PostgresPassword.Value() != "pgpass" {
		t.Error("secrets not resolved")
	}
	abs, _ := filepath.Abs("testdata/id_test")
	if inv.SSH.IdentityFiles[0] != abs {
		t.Errorf("identity file %s not resolved against the inventory's directory", inv.SSH.IdentityFiles[0])
	}
	if inv.Database.Primary != "db-1" || inv.Database.Port != DefaultDBPort || inv.Keepalived.Check.Interval != DefaultCheckInterval {
		t.Errorf("database defaults: %+v", inv.Database)
	}
}

func TestSecretsNeverFormatted(t *testing.T) {
	t.Setenv("HAUP_TEST_REPMGR", "from-env")
	inv, err := Load("testdata/good-three-nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"%v", "%+v", "%#v", "%s"} {
		out := strings.Join([]string{sprintf(s, inv.Database), sprintf(s, *inv)}, "")
		for _, secret := range inv.SecretValues() {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows a secret: %s", s, out)
			}
		}
	}
}

func TestWorldReadableSecretWarns(t *testing.T) {
	dir := t.TempDir()
	b, _ := os.ReadFile("../examples/two-node.yaml")
	os.WriteFile(filepath.Join(dir, "inv.yaml"), b, 0o600)
	os.MkdirAll(filepath.Join(dir, "secrets"), 0o700)
	for _, n := range []string{"vrrp-auth-pass", "postgres-password", "repmgr-password"} {
		os.WriteFile(filepath.Join(dir, "secrets", n), []byte("abcdefg\n"), 0o644)
	}
	inv, warnings, err := LoadWithWarnings(filepath.Join(dir, "inv.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 3 || !strings.Contains(warnings[0], "chmod 600") {
		t.Errorf("warnings = %v", warnings)
	}
	if inv.Keepalived.AuthPass.Value() != "abcdefg" {
		t.Errorf("trailing newline kept: %q", inv.Keepalived.AuthPass.Value())
	}
}

func sprintf(format string, v any) string { return fmt.Sprintf(format, v) }

func TestAnchorsAndMergeKeys(t *testing.T) {
	inv, err := Load("testdata/good-anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, b := inv.Nodes[0], inv.Nodes[1]
	if a.Interface != "eth1" || a.SSH.Port != 2222 || a.SSH.User != "admin" || a.DatabaseAddress != "10.1.0.11" {
		t.Errorf("node 0: %+v", a)
	}
	if b.Name != "pg-1" || b.Address != "10.1.0.12" || b.Interface != "eth1" || b.SSH.Port != 2223 || b.SSH.User != "admin" ||
		b.SSH.Address != "10.1.0.12" || b.UnicastSrcIP != "10.1.0.12" || b.DatabaseAddress != "pg-1.db.example.internal" {
		t.Errorf("node 1 (merged): %+v", b)
	}
}

// TestExplicitNullIsAbsent: `key:` with no value leaves the default, as an
// absent key does.
func TestExplicitNullIsAbsent(t *testing.T) {
	dir := t.TempDir()
	b, _ := os.ReadFile("testdata/good-anchors.yaml")
	s := strings.Replace(string(b), "  interface: eth0\n", "  interface: eth0\n  advert_int:\n  check: ~\n", 1)
	p := filepath.Join(dir, "inv.yaml")
	os.WriteFile(p, []byte(s), 0o600)
	os.Symlink(mustAbs(t, "testdata/secrets"), filepath.Join(dir, "secrets"))
	inv, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Keepalived.AdvertInt != DefaultAdvertInt || inv.Keepalived.Check.Interval != DefaultCheckInterval {
		t.Errorf("defaults not applied: %+v", inv.Keepalived)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseJump(t *testing.T) {
	for _, tc := range []struct {
		in, user, host string
		port           int
		bad            bool
	}{
		{"bastion.example.com", "", "bastion.example.com", 22, false},
		{"ops@10.0.0.1:2222", "ops", "10.0.0.1", 2222, false},
		{"[2001:db8::1]:22", "", "2001:db8::1", 22, false},
		{"", "", "", 0, true},
		{"ops@:22", "", "", 0, true},
		{"host:ssh", "", "", 0, true},
	} {
		user, host, port, err := ParseJump(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && (user != tc.user || host != tc.host || port != tc.port)) {
			t.Errorf("ParseJump(%q) = %q %q %d %v", tc.in, user, host, port, err)
		}
	}
}
