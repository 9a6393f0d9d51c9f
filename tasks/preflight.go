package tasks

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/probe"
)

// Preflight lists what stops haup from working on a node, from its facts.
// Any problem on any node means nothing is changed anywhere.
func Preflight(node inventory.Node, f *Facts) []string {
	var p []string
	if f.UID != 0 {
		p = append(p, fmt.Sprintf("commands do not run as root (uid %d)", f.UID))
	}
	if !f.HasApt {
		p = append(p, fmt.Sprintf("no apt-get: haup needs a Debian or Ubuntu node (found %q %s)", f.OSID, f.OSVersion))
	}
	if !f.HasSystemd {
		p = append(p, "no systemctl: haup needs systemd")
	}
	if f.Docker == "" {
		msg := "the Docker engine does not answer (is docker installed and running?)"
		if f.DockerError != "" {
			msg += ": " + f.DockerError
		}
		p = append(p, msg)
	}
	if len(f.MissingTools) > 0 {
		var pkgs []string
		for _, t := range f.MissingTools {
			pkgs = append(pkgs, probe.CheckTools[t])
		}
		p = append(p, fmt.Sprintf("the health check needs %s, not installed (apt-get install %s)", strings.Join(f.MissingTools, " and "), strings.Join(pkgs, " ")))
	}
	if !f.Iface.Found {
		p = append(p, fmt.Sprintf("interface %s does not exist", node.Interface))
	} else if !hasAddr(f.Iface.Addrs, node.UnicastSrcIP) {
		p = append(p, fmt.Sprintf("interface %s does not carry %s (it has %v)", node.Interface, node.UnicastSrcIP, f.Iface.Addrs))
	}
	return p
}

func hasAddr(prefixes []string, addr string) bool {
	want, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	for _, s := range prefixes {
		if p, err := netip.ParsePrefix(s); err == nil && p.Addr() == want {
			return true
		}
	}
	return false
}
