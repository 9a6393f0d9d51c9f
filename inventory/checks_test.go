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
