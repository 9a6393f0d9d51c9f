package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
	if k := inv.Keepalived; k.Check.Interval != 1 || k.VRRPVersion != 3 || k.AdvertInt != 10 || k.AdvertInt.String() != "0.1" {
		t.Errorf("check interval %d, VRRP version %d, advert_int %s; want 1, 3, 0.1", k.Check.Interval, k.VRRPVersion, k.AdvertInt)
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
	if len(warnings) != 2 || !strings.Contains(warnings[0], "chmod 600") {
		t.Errorf("warnings = %v", warnings)
	}
	if inv.Database.PostgresPassword.Value() != "abcdefg" {
		t.Errorf("trailing newline kept: %q", inv.Database.PostgresPassword.Value())
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
	// good-anchors gives auth_pass: VRRP version 2, whole-second adverts.
	if inv.Keepalived.VRRPVersion != 2 || inv.Keepalived.AdvertInt != DefaultAdvertIntV2 || inv.Keepalived.Check.Interval != DefaultCheckInterval {
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

// TestVRRPVersions: the version decides what advert_int and auth_pass may be.
func TestVRRPVersions(t *testing.T) {
	b, err := os.ReadFile("testdata/good-anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	noAuth := regexp.MustCompile(`(?m)^  auth_pass:.*\n`).ReplaceAllString(string(b), "")
	cases := []struct {
		name, base, add string
		version         int
		advert          Hundredths
		problem         string
	}{
		{"default without auth", noAuth, "", 3, 10, ""},
		{"default with auth", string(b), "", 2, 100, ""},
		{"v3 quarter second", noAuth, "  advert_int: 0.25\n", 3, 25, ""},
		{"v3 integer", noAuth, "  advert_int: 2\n", 3, 200, ""},
		{"v2 explicit", string(b), "  vrrp_version: 2\n  advert_int: 3\n", 2, 300, ""},
		{"v3 with auth", string(b), "  vrrp_version: 3\n", 0, 0, "keepalived.auth_pass: VRRP version 3 has no authentication"},
		{"v2 fraction", string(b), "  advert_int: 0.5\n", 0, 0, "keepalived.advert_int: must be whole seconds, 1..255, with vrrp_version 2, got 0.5"},
		{"v3 zero", noAuth, "  advert_int: 0\n", 0, 0, "keepalived.advert_int: must be 0.01..40.95 seconds with vrrp_version 3, got 0"},
		{"v3 too long", noAuth, "  advert_int: 41\n", 0, 0, "keepalived.advert_int: must be 0.01..40.95 seconds with vrrp_version 3, got 41"},
		{"three decimals", noAuth, "  advert_int: 0.125\n", 0, 0, "keepalived.advert_int: expected a number of seconds with at most two decimals"},
		{"negative", noAuth, "  advert_int: -1\n", 0, 0, "keepalived.advert_int: expected a number of seconds with at most two decimals"},
		{"string", noAuth, "  advert_int: \"0.2\"\n", 0, 0, "keepalived.advert_int: expected a number of seconds, got"},
		{"version 4", noAuth, "  vrrp_version: 4\n", 0, 0, "keepalived.vrrp_version: must be 2 or 3, got 4"},
		{"version 0", noAuth, "  vrrp_version: 0\n", 0, 0, "keepalived.vrrp_version: must be 2 or 3, got 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := strings.Replace(c.base, "  interface: eth0\n", "  interface: eth0\n"+c.add, 1)
			p := filepath.Join(dir, "inv.yaml")
			os.WriteFile(p, []byte(s), 0o600)
			os.Symlink(mustAbs(t, "testdata/secrets"), filepath.Join(dir, "secrets"))
			inv, err := Load(p)
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("err = %v, want %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if inv.Keepalived.VRRPVersion != c.version || inv.Keepalived.AdvertInt != c.advert {
				t.Errorf("version %d advert %s, want %d %s", inv.Keepalived.VRRPVersion, inv.Keepalived.AdvertInt, c.version, c.advert)
			}
		})
	}
}

// 254 is reserved for a promoted primary's precedence (keepalived.conf
// track_file): a node configured at 254 would tie with it.
func TestPriorityReservesPrecedence(t *testing.T) {
	t.Setenv("HAUP_TEST_REPMGR", "from-env")
	b, err := os.ReadFile("testdata/good-three-nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prio    string
		problem string
	}{
		{"253", ""},
		{"1", ""},
		{"254", "priority: must be 1..253, got 254: 254 is reserved for a newly promoted primary"},
		{"255", "priority: must be 1..253, got 255"},
		{"0", "priority: must be 1..253, got 0"},
	} {
		t.Run(c.prio, func(t *testing.T) {
			s := regexp.MustCompile(`priority: \d+`).ReplaceAllString(string(b), "priority: "+c.prio)
			if s == string(b) {
				t.Fatal("no priority in testdata/good-three-nodes.yaml")
			}
			_, err := loadText(t, s)
			if c.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.problem) {
				t.Fatalf("err = %v, want %q", err, c.problem)
			}
		})
	}
}

// A witness is validated like a node: name and repmgr id, addresses and ssh,
// each problem at its line; it has no VRRP settings.
func TestWitness(t *testing.T) {
	t.Setenv("HAUP_TEST_REPMGR", "from-env")
	b, err := os.ReadFile("testdata/good-three-nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, block, problem string
	}{
		{"good", "witness: {name: wit-9, address: 10.2.0.9}\n", ""},
		{"good with ssh", "witness:\n  name: wit-9\n  address: 192.0.2.9\n  database_address: w.example\n  ssh: {port: 2200, user: admin}\n", ""},
		{"null is absent", "witness: null\n", ""},
		{"empty", "witness: {}\n", "witness.name: missing"},
		{"no address", "witness: {name: wit-9}\n", "witness.address: missing"},
		{"bad name", "witness: {name: witness, address: 10.2.0.9}\n", "witness.name: \"witness\" must be"},
		{"name of a node", "witness: {name: db-2, address: 10.2.0.9}\n", "witness.name: name db-2 is also used by nodes[1]"},
		{"repmgr id of a node", "witness: {name: wit-3, address: 10.2.0.9}\n", "witness.name: repmgr node id 1003 is also used by nodes[2]"},
		{"address of a node", "witness: {name: wit-9, address: 10.1.0.12}\n", "witness.address: 10.1.0.12 is also nodes[1].address"},
		{"the VIP", "witness: {name: wit-9, address: 10.1.0.100}\n", "witness.address: 10.1.0.100 is the VIP itself"},
		{"priority", "witness: {name: wit-9, address: 10.2.0.9, priority: 5}\n", "unknown field \"priority\" in witness"},
		{"ssh endpoint", "witness: {name: wit-9, address: 10.2.0.9, ssh: {address: 10.1.0.13, port: 2222}}\n", "witness.ssh: ssh endpoint 10.1.0.13 port 2222 is also used by nodes[2]"},
		{"primary", "witness: {name: wit-9, address: 10.2.0.9}\n", "database.primary: names the witness"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := string(b) + c.block
			if c.name == "primary" {
				s = strings.Replace(s, "  repmgr_password:", "  primary: wit-9\n  repmgr_password:", 1)
			}
			inv, err := loadText(t, s)
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("err = %v, want %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(c.name, "good") {
				w := inv.WitnessNode()
				if !inv.HasWitness() || w.Name != "wit-9" || w.SSH.Address != w.Address || w.DatabaseAddress == "" || len(inv.Hosts()) != 4 {
					t.Errorf("witness %+v, hosts %d", w, len(inv.Hosts()))
				}
			} else if inv.HasWitness() || len(inv.Hosts()) != 3 {
				t.Errorf("absent witness read as %+v", inv.Witness)
			}
		})
	}
}

// TestRepmgrTimingBounds: 0 reconnect attempts is repmgr's "promote after
// the first unanswered check", told from an absent setting (the default);
// a connect_timeout of 1 is refused, since libpq would wait 2 s.
func TestRepmgrTimingBounds(t *testing.T) {
	t.Setenv("HAUP_TEST_REPMGR", "from-env")
	b, err := os.ReadFile("testdata/good-three-nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, repmgr string
		attempts     int
		problem      string
	}{
		{"absent", "", DefaultReconnectAttempts, ""},
		{"zero attempts", "{reconnect_attempts: 0}", 0, ""},
		{"negative attempts", "{reconnect_attempts: -1}", 0, "database.repmgr.reconnect_attempts: must be 0..1000, got -1"},
		{"connect_timeout 1", "{connect_timeout: 1}", 0, "database.repmgr.connect_timeout: must be 2..3600 seconds, got 1 (libpq waits at least 2 s"},
		{"connect_timeout 2", "{connect_timeout: 2}", DefaultReconnectAttempts, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := string(b)
			if c.repmgr != "" {
				s = strings.Replace(s, "  repmgr_password:", "  repmgr: "+c.repmgr+"\n  repmgr_password:", 1)
			}
			inv, err := loadText(t, s)
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("err = %v, want %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := inv.Database.Repmgr.ReconnectAttempts; got != c.attempts {
				t.Errorf("reconnect_attempts %d, want %d", got, c.attempts)
			}
		})
	}
}

// loadText loads inventory text s from a temporary file beside
// testdata/secrets.
func loadText(t *testing.T, s string) (*Inventory, error) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "inv.yaml")
	os.WriteFile(p, []byte(s), 0o600)
	os.Symlink(mustAbs(t, "testdata/secrets"), filepath.Join(dir, "secrets"))
	return Load(p)
}
