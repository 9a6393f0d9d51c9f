package tasks

import (
	"strings"
	"testing"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/probe"
)

// Preflight names every problem of a node, and each in words that say what
// to do; a node with none passes.
func TestPreflight(t *testing.T) {
	node := inventory.Node{Name: "pg-0", Interface: "eth0", UnicastSrcIP: "10.0.0.11"}
	good := func() *Facts {
		return &Facts{Version: probe.Version, HasApt: true, HasSystemd: true, Docker: "24.0.7",
			Iface: probe.Iface{Found: true, Addrs: []string{"10.0.0.11/24"}}}
	}
	if p := Preflight(node, good()); len(p) != 0 {
		t.Fatalf("a good node: %v", p)
	}
	f := good()
	f.MissingTools = []string{"iptables", "ss"}
	p := Preflight(node, f)
	if len(p) != 1 || p[0] != "the health check needs iptables and ss, not installed (apt-get install iptables iproute2)" {
		t.Errorf("missing tools: %q", p)
	}
	f = good()
	f.UID, f.HasApt, f.HasSystemd, f.Docker = 1000, false, false, ""
	f.Iface.Addrs = []string{"10.0.0.12/24"}
	p = Preflight(node, f)
	want := []string{"not run as root", "no apt-get", "no systemctl", "Docker engine does not answer", "does not carry 10.0.0.11"}
	if len(p) != len(want) {
		t.Fatalf("got %q", p)
	}
	for i, w := range want {
		if !strings.Contains(p[i], w) {
			t.Errorf("problem %d: %q lacks %q", i, p[i], w)
		}
	}
}
