package desired

import (
	"net/netip"
	"path"
	"strings"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/templates"
)

// HBAPath is haup's pg_hba.conf on the host, in the directory mounted at
// /bitnami/repmgr/conf (REPMGR_MOUNTED_CONF_DIR): the image copies a
// pg_hba.conf found there in place of its own when the container starts.
var HBAPath = path.Join(repmgrConfDir, "pg_hba.conf")

// renderHBA is haup's pg_hba.conf, the same on every host, or nil when
// database.allowed_clients is absent and TLS not required (the image's own
// rules).
func renderHBA(inv *inventory.Inventory) ([]byte, error) {
	tls := inv.Database.TLS.Enabled && inv.Database.TLS.Require
	if !inv.Database.AllowedClientsGiven && !tls {
		return nil, nil
	}
	return templates.RenderHBA(templates.HBA{Members: hbaMembers(inv), Clients: inv.Database.AllowedClients,
		AnyClient: !inv.Database.AllowedClientsGiven, TLS: tls})
}

// hbaMembers are the cluster's own addresses, in inventory order, each
// once: every node's and the witness's address, unicast_src_ip and
// database_address, then the VIP (a node that holds it may connect from
// it).
func hbaMembers(inv *inventory.Inventory) []templates.HBAMember {
	var out []templates.HBAMember
	seen := map[netip.Addr]bool{}
	host := func(name string, fields [][2]string) {
		var order []netip.Addr
		named := map[netip.Addr][]string{}
		for _, f := range fields {
			a, err := netip.ParseAddr(f[1])
			if err != nil || !a.Is4() || seen[a] {
				continue
			}
			if _, ok := named[a]; !ok {
				order = append(order, a)
			}
			named[a] = append(named[a], f[0])
		}
		for _, a := range order {
			seen[a] = true
			out = append(out, templates.HBAMember{Name: name + " (" + strings.Join(named[a], ", ") + ")", CIDR: a.String() + "/32"})
		}
	}
	for _, n := range inv.Nodes {
		host(n.Name, [][2]string{{"address", n.Address}, {"unicast_src_ip", n.UnicastSrcIP}, {"database_address", DBAddress(n)}})
	}
	if inv.HasWitness() {
		w := inv.WitnessNode()
		host("witness "+w.Name, [][2]string{{"address", w.Address}, {"database_address", DBAddress(w)}})
	}
	host("the VIP", [][2]string{{"held by the primary's node", VIPAddr(inv)}})
	return out
}
