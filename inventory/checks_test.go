package inventory

import (
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
