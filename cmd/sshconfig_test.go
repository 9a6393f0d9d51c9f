package cmd

import (
	"strings"
	"testing"

	sshconfig "github.com/kevinburke/ssh_config"

	"github.com/haup-project/haup/remote"
)

func TestWithSSHConfig(t *testing.T) {
	cfg, err := sshconfig.Decode(strings.NewReader(`
Host db0
  HostName 10.1.0.11
  Port 2222
  User ops
  IdentityFile /keys/ops
  ProxyJump jump@bastion.example.com:2200,inner

Host db1
  ProxyJump none
`))
	if err != nil {
		t.Fatal(err)
	}
	base := remote.SSHConfig{Address: "db0", Port: 22, User: "root", IdentityFiles: []string{"/keys/inv"},
		Jumps: []remote.Jump{{Address: "inventory-bastion", Port: 22}}}
	c, err := withSSHConfig(base, cfg, "db0")
	if err != nil {
		t.Fatal(err)
	}
	if c.Address != "10.1.0.11" || c.Port != 2222 || c.User != "ops" || c.IdentityFiles[0] != "/keys/ops" || c.IdentityFiles[1] != "/keys/inv" {
		t.Errorf("db0: %+v", c)
	}
	if len(c.Jumps) != 2 || c.Jumps[0] != (remote.Jump{User: "jump", Address: "bastion.example.com", Port: 2200}) || c.Jumps[1].Address != "inner" {
		t.Errorf("db0 jumps: %+v", c.Jumps)
	}
	base.Address = "db1"
	c, _ = withSSHConfig(base, cfg, "db1")
	if c.Address != "db1" || c.Port != 22 || c.User != "root" || len(c.Jumps) != 0 {
		t.Errorf("db1 (ProxyJump none, nothing else set): %+v", c)
	}
	// Without the opt-in nothing changes.
	if c, _ := withSSHConfig(base, nil, "db0"); c.Address != "db1" {
		t.Errorf("no ssh config: %+v", c)
	}
}
