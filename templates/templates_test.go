package templates

import (
	"path/filepath"
	"testing"

	"github.com/haup-project/haup/internal/testenv"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got)
}

func TestKeepalivedGolden(t *testing.T) {
	got, err := RenderKeepalived(Keepalived{
		NodeName: "pg-0", CheckCommand: "/usr/local/libexec/haup/haup-check",
		NotifyCommand: "/usr/local/libexec/haup/vrrp-notify",
		Interval:      5, Timeout: 2, Fall: 2, Rise: 1,
		Interface: "ens33", VirtualRouterID: 51, Priority: 100, VRRPVersion: 2, AdvertInt: "1",
		UnicastSrcIP: "192.168.89.131", UnicastPeers: []string{"192.168.89.133", "192.168.89.135"},
		AuthPass: "s3cretXx", VirtualIPAddress: "192.168.89.134/24", PrecedenceFile: "/var/lib/haup/precedence",
	})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "keepalived-three-peers.conf", got)
}

// Version 3, the default: sub-second adverts and no authentication block.
func TestKeepalivedV3Golden(t *testing.T) {
	got, err := RenderKeepalived(Keepalived{
		NodeName: "pg-1", CheckCommand: "/usr/local/libexec/haup/haup-check",
		NotifyCommand: "/usr/local/libexec/haup/vrrp-notify",
		Interval:      1, Timeout: 1, Fall: 2, Rise: 1,
		Interface: "eth0", VirtualRouterID: 51, Priority: 100, VRRPVersion: 3, AdvertInt: "0.2",
		UnicastSrcIP: "10.77.0.12", UnicastPeers: []string{"10.77.0.11"},
		VirtualIPAddress: "10.77.0.100/24", PrecedenceFile: "/var/lib/haup/precedence",
	})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "keepalived-v3.conf", got)
}

func TestKeepalivedNeedsPeers(t *testing.T) {
	if _, err := RenderKeepalived(Keepalived{NodeName: "pg-0"}); err == nil {
		t.Fatal("rendering without peers succeeded")
	}
}

func TestNotifyGolden(t *testing.T) {
	got, err := RenderNotify(Notify{StateDir: "/run/haup", StateFile: "/run/haup/vrrp-state"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "vrrp-notify.sh", got)
}

func TestHBAGolden(t *testing.T) {
	members := []HBAMember{
		{Name: "pg-0 (address, database_address)", CIDR: "10.77.0.11/32"},
		{Name: "pg-1 (address)", CIDR: "10.77.0.12/32"},
		{Name: "pg-1 (database_address)", CIDR: "10.78.0.12/32"},
		{Name: "the VIP", CIDR: "10.77.0.100/32"},
	}
	got, err := RenderHBA(HBA{Members: members, Clients: []string{"10.2.0.0/16", "192.0.2.7/32"}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "pg_hba.conf", got)
	// [] in the inventory: the nodes alone.
	got, err = RenderHBA(HBA{Members: members})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "pg_hba-nodes-only.conf", got)
	// database.tls.require, with allowed_clients and without.
	got, err = RenderHBA(HBA{Members: members, Clients: []string{"10.2.0.0/16"}, TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "pg_hba-tls.conf", got)
	got, err = RenderHBA(HBA{Members: members, AnyClient: true, TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "pg_hba-tls-any-client.conf", got)
	if _, err := RenderHBA(HBA{}); err == nil {
		t.Error("rendering without members succeeded")
	}
}
