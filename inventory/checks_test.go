package inventory

import (
	"fmt"
	"strings"
	"testing"
)

// goodInventory is a valid inventory; tests change one line of it. Its
// secrets are the files of testdata/secrets, reached through a link.
const goodInventory = `keepalived:
  virtual_ipaddress: 10.1.0.100/24
  virtual_router_id: 7
  interface: eth0
database:
  image: pg:14
  port: 5432
  postgres_password: {file: secrets/pg}
  repmgr_password: {file: secrets/rm}
ssh: {agent: true}
nodes:
  - {name: pg-0, address: 10.1.0.11, database_address: 10.1.0.11}
  - {name: pg-1, address: 10.1.0.12}
`

// edit replaces old, which must occur in goodInventory, by new.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(goodInventory, old) {
		t.Fatalf("%q is not in the test inventory", old)
	}
	return strings.Replace(goodInventory, old, new, 1)
}

func TestGoodInventoryLoads(t *testing.T) {
	if _, err := loadText(t, goodInventory); err != nil {
		t.Fatal(err)
	}
}

// nestedMerge is a flow mapping that reaches leaf through depth merge
// keys: {<<: {<<: {leaf}}}.
func nestedMerge(depth int, leaf string) string {
	return strings.Repeat("{<<: ", depth) + "{" + leaf + "}" + strings.Repeat("}", depth)
}

// TestDeepMergeKeys: a field more than 10 merge keys deep was read as
// absent by validation while decoding used it, so priority: 0 became the
// default and an auth_pass disappeared. Any depth within the expansion
// bound now counts.
func TestDeepMergeKeys(t *testing.T) {
	for _, depth := range []int{1, 11, 50, 500} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			text := edit(t, "  - {name: pg-1, address: 10.1.0.12}\n",
				"  - {name: pg-1, address: 10.1.0.12}\n  - {<<: "+nestedMerge(depth, "priority: 0")+", name: pg-2, address: 10.1.0.13}\n")
			_, err := loadText(t, text)
			if err == nil || !strings.Contains(err.Error(), "inv.yaml:14: nodes[2].priority: must be 1..253, got 0") {
				t.Errorf("priority: 0 %d merges deep: %v", depth, err)
			}
			text = edit(t, "  interface: eth0\n", "  <<: "+nestedMerge(depth, "auth_pass: {file: secrets/auth}")+"\n  interface: eth0\n")
			inv, err := loadText(t, text)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Keepalived.AuthPass.Value() == "" || inv.Keepalived.VRRPVersion != 2 {
				t.Errorf("auth_pass %d merges deep: %v, VRRP version %d", depth, inv.Keepalived.AuthPass, inv.Keepalived.VRRPVersion)
			}
		})
	}
}

// problemCase is one edit of goodInventory and the problem it must draw,
// or "" when it must load.
type problemCase struct {
	name, old, new, problem string
}

// wantProblem checks that err lists problem, or is nil for "".
func wantProblem(t *testing.T, err error, problem string) {
	t.Helper()
	switch {
	case problem == "" && err != nil:
		t.Errorf("refused: %v", err)
	case problem != "" && (err == nil || !strings.Contains(err.Error(), problem)):
		t.Errorf("err = %v\nwant %q", err, problem)
	}
}

func runProblemCases(t *testing.T, cases []problemCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadText(t, edit(t, c.old, c.new))
			wantProblem(t, err, c.problem)
		})
	}
}

const dbAddr = "database_address: 10.1.0.11"

// TestLoopbackAndPrivilegedPorts: addresses other nodes cannot reach, the
// loopback interface and ports PostgreSQL cannot listen on were accepted.
func TestLoopbackAndPrivilegedPorts(t *testing.T) {
	const loopback = ` names the host itself (a loopback address): other nodes and repmgr connect to it, so give an address or name they reach this host at`
	runProblemCases(t, []problemCase{
		{"localhost", dbAddr, "database_address: localhost", `inv.yaml:12: nodes[0].database_address: "localhost"` + loopback},
		{"localhost upper", dbAddr, "database_address: LocalHost", `nodes[0].database_address: "LocalHost"` + loopback},
		{"under localhost", dbAddr, "database_address: db.localhost", `nodes[0].database_address: "db.localhost"` + loopback},
		{"localhost.localdomain", dbAddr, "database_address: localhost.localdomain", `"localhost.localdomain"` + loopback},
		{"ip6-localhost", dbAddr, "database_address: ip6-localhost", `"ip6-localhost"` + loopback},
		{"127.0.0.1", dbAddr, "database_address: 127.0.0.1", "nodes[0].database_address: 127.0.0.1 is a loopback address"},
		{"127.3.2.1", dbAddr, "database_address: 127.3.2.1", "nodes[0].database_address: 127.3.2.1 is a loopback address"},
		{"::1", dbAddr, "database_address: '::1'", "nodes[0].database_address: ::1: only IPv4 addresses are supported"},
		{"127.1", dbAddr, "database_address: 127.1", `nodes[0].database_address: "127.1" is read as the IPv4 address 127.0.0.1 (inet_aton's short or numeric form), a loopback address`},
		{"hex", dbAddr, "database_address: 0x7f000001", `"0x7f000001" is read as the IPv4 address 127.0.0.1 (inet_aton's short or numeric form), a loopback address`},
		{"octal", dbAddr, "database_address: 10.1.0.011", `"10.1.0.011" is read as the IPv4 address 10.1.0.9 (inet_aton's short or numeric form): write 10.1.0.9`},
		{"zero", dbAddr, "database_address: 0", `"0" is read as the IPv4 address 0.0.0.0 (inet_aton's short or numeric form), the unspecified address`},
		{"localhost witness", "ssh: {agent: true}\n", "ssh: {agent: true}\nwitness: {name: w-9, address: 10.2.0.9, database_address: localhost}\n", `witness.database_address: "localhost"` + loopback},
		{"ssh to localhost", dbAddr, dbAddr + ", ssh: {address: localhost, port: 2201}", ""},
		{"interface lo", "  interface: eth0\n", "  interface: lo\n", "inv.yaml:4: keepalived.interface: lo is the loopback interface: VRRP and the VIP need the interface on the nodes' network, the one carrying their address"},
		{"node interface lo", dbAddr, dbAddr + ", interface: lo", "nodes[0].interface: lo is the loopback interface"},
		{"port 22", "port: 5432", "port: 22", "inv.yaml:7: database.port: must be 1024..65535, got 22: the image runs PostgreSQL as its non-root user postgres, which cannot listen on a port below 1024"},
		{"port 1023", "port: 5432", "port: 1023", "database.port: must be 1024..65535, got 1023: the image runs"},
		{"port 1024", "port: 5432", "port: 1024", ""},
		{"port 0", "port: 5432", "port: 0", "database.port: must be 1024..65535, got 0"},
		{"ssh port clash", "ssh: {agent: true}", "ssh: {agent: true, port: 5432}", "inv.yaml:7: database.port: 5432 is also the SSH port of nodes[0], on the same host: PostgreSQL shares the host's network with sshd; choose another port"},
		{"node ssh port clash", "address: 10.1.0.12}", "address: 10.1.0.12, ssh: {port: 5432}}", "database.port: 5432 is also the SSH port of nodes[1], on the same host"},
		{"forwarded ssh port", "address: 10.1.0.12}", "address: 10.1.0.12, ssh: {address: bastion.example, port: 5432}}", ""},
	})
}

// TestTrailingDot: a fully qualified name with its trailing dot is a
// hostname wherever one is accepted, and the same host as without it.
func TestTrailingDot(t *testing.T) {
	runProblemCases(t, []problemCase{
		{"database_address", dbAddr, "database_address: db1.example.com.", ""},
		{"ssh address", dbAddr, dbAddr + ", ssh: {address: db1.example.com.}", ""},
		{"proxy_jump", "ssh: {agent: true}", "ssh: {agent: true, proxy_jump: [admin@bastion.example.com.:2222]}", ""},
		{"node proxy_jump", dbAddr, dbAddr + ", ssh: {proxy_jump: [bastion.example.com.]}", ""},
		{"witness", "ssh: {agent: true}\n", "ssh: {agent: true}\nwitness: {name: w-9, address: 10.2.0.9, database_address: w.example.com.}\n", ""},
		{"dot alone", dbAddr, "database_address: .", `nodes[0].database_address: "." is neither an IPv4 address nor a hostname`},
		{"two dots", dbAddr, "database_address: db1.example.com..", `"db1.example.com.." is neither an IPv4 address nor a hostname`},
		{"localhost dot", dbAddr, "database_address: localhost.", `nodes[0].database_address: "localhost." names the host itself (a loopback address)`},
	})
	text := strings.Replace(goodInventory, dbAddr, "database_address: db1.example.com.", 1)
	text = strings.Replace(text, "address: 10.1.0.12}", "address: 10.1.0.12, database_address: DB1.example.com}", 1)
	if _, err := loadText(t, text); err == nil || !strings.Contains(err.Error(), "nodes[1].database_address: DB1.example.com is also nodes[0].database_address") {
		t.Errorf("one host with and without the dot: %v", err)
	}
}

func TestInetAton(t *testing.T) {
	for s, want := range map[string]string{
		"127.1": "127.0.0.1", "0x7f000001": "127.0.0.1", "0177.0.0.1": "127.0.0.1",
		"10.1.0.011": "10.1.0.9", "10.65535": "10.0.255.255", "1.2.3.4": "1.2.3.4", "0": "0.0.0.0",
		"1.2.3.4.5": "", "256.1": "", "1.16777216": "", "08": "", "": "", "1..2": "",
		"db1": "", "0xg": "", "+1": "", "1e3": "", "4294967295": "255.255.255.255", "4294967296": "",
	} {
		a, ok := inetAton(s)
		if got := a.String(); !ok && want != "" || ok && got != want {
			t.Errorf("inetAton(%q) = %v %v, want %q", s, a, ok, want)
		}
	}
}

// TestMaxLagOnFailover: the asynchronous promotion bound, its types, range,
// and its refusal in zero-loss mode, each with the line.
func TestMaxLagOnFailover(t *testing.T) {
	const port = "  port: 5432\n"
	runProblemCases(t, []problemCase{
		{"both", port, port + "  max_lag_on_failover: {bytes: 1048576, seconds: 30}\n", ""},
		{"zero bytes is a limit", port, port + "  max_lag_on_failover: {bytes: 0, seconds: 6}\n", ""},
		{"below repmgrd's detection", port, port + "  max_lag_on_failover: {seconds: 5}\n", "inv.yaml:8: database.max_lag_on_failover.seconds: is 5, but repmgrd takes up to 4 s to notice a lost primary with these database.repmgr timings, and the bound counts that time: no standby would ever be promoted automatically; give at least 6"},
		{"slower repmgrd", port, port + "  max_lag_on_failover: {seconds: 10}\n  repmgr: {reconnect_attempts: 3}\n", "database.max_lag_on_failover.seconds: is 10, but repmgrd takes up to 13 s"},
		{"negative bytes", port, port + "  max_lag_on_failover: {bytes: -1}\n", "inv.yaml:8: database.max_lag_on_failover.bytes: must be 0..1099511627776 bytes, got -1"},
		{"too many seconds", port, port + "  max_lag_on_failover: {seconds: 86401}\n", "inv.yaml:8: database.max_lag_on_failover.seconds: must be 0..86400 seconds, got 86401"},
		{"a string", port, port + "  max_lag_on_failover: {seconds: 10s}\n", "inv.yaml:8: database.max_lag_on_failover.seconds: expected an integer"},
		{"a fraction", port, port + "  max_lag_on_failover: {seconds: 1.5}\n", "database.max_lag_on_failover.seconds: expected an integer, got"},
		{"a scalar", port, port + "  max_lag_on_failover: 10\n", "inv.yaml:8: database.max_lag_on_failover: expected a mapping"},
		{"unknown key", port, port + "  max_lag_on_failover: {minutes: 1}\n", `inv.yaml:8: unknown field "minutes" in database.max_lag_on_failover (it has bytes and seconds)`},
		{"zero-loss", port, port + "  synchronous: true\n  max_lag_on_failover: {seconds: 5}\n", "inv.yaml:9: database.max_lag_on_failover: applies to asynchronous mode only"},
	})
	inv, err := loadText(t, goodInventory)
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.Database.MaxLagOnFailover; got != (MaxLag{Bytes: DefaultMaxLagBytes, Seconds: DefaultMaxLagSeconds}) {
		t.Errorf("default %+v", got)
	}
}

// TestAllowedClients: absent keeps the image's rules, [] lets only the
// nodes in, null is refused as ambiguous, and a list is kept as given.
func TestAllowedClients(t *testing.T) {
	const port = "  port: 5432\n"
	runProblemCases(t, []problemCase{
		{"two networks", port, port + "  allowed_clients: [10.2.0.0/16, 192.0.2.7/32]\n", ""},
		{"empty", port, port + "  allowed_clients: []\n", ""},
		{"null", port, port + "  allowed_clients:\n", "inv.yaml:8: database.allowed_clients: is null: write [] to let only the nodes connect, or remove the key"},
		{"a scalar", port, port + "  allowed_clients: 10.2.0.0/16\n", "inv.yaml:8: database.allowed_clients: expected a list"},
		{"host bits", port, port + "  allowed_clients: [10.0.0.5/24]\n", `inv.yaml:8: database.allowed_clients[0]: "10.0.0.5/24" has host bits set: write 10.0.0.0/24 for the network, or 10.0.0.5/32 for the one address`},
		{"not a CIDR", port, port + "  allowed_clients:\n    - 10.2.0.0/16\n    - office\n", `inv.yaml:10: database.allowed_clients[1]: "office" is not a CIDR`},
		{"duplicate", port, port + "  allowed_clients:\n    - 10.2.0.0/16\n    - 10.2.0.0/16\n", `inv.yaml:10: database.allowed_clients[1]: "10.2.0.0/16" repeats database.allowed_clients[0] (line 9)`},
		{"IPv6", port, port + "  allowed_clients: [\"::1/128\"]\n", `database.allowed_clients[0]: "::1/128" is IPv6`},
	})
	named := strings.Replace(edit(t, port, port+"  allowed_clients: []\n"), "address: 10.1.0.12}", "address: 10.1.0.12, database_address: db1.example}", 1)
	if _, err := loadText(t, named); err == nil || !strings.Contains(err.Error(), `inv.yaml:14: nodes[1].database_address: "db1.example" is a hostname: with database.allowed_clients give an IPv4 address`) {
		t.Errorf("a node's hostname with allowed_clients: %v", err)
	}
	for _, c := range []struct {
		name, yaml string
		given      bool
		want       []string
	}{
		{"absent", "", false, nil},
		{"empty", "  allowed_clients: []\n", true, nil},
		{"list", "  allowed_clients: [10.2.0.0/16]\n", true, []string{"10.2.0.0/16"}},
	} {
		inv, err := loadText(t, edit(t, port, port+c.yaml))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := inv.Database; got.AllowedClientsGiven != c.given || fmt.Sprint(got.AllowedClients) != fmt.Sprint(c.want) {
			t.Errorf("%s: given %v, clients %v; want %v, %v", c.name, got.AllowedClientsGiven, got.AllowedClients, c.given, c.want)
		}
	}
}
