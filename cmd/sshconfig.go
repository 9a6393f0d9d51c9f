package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	sshconfig "github.com/kevinburke/ssh_config"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/remote"
)

// readSSHConfig loads the operator's ssh configuration when the inventory
// opts in (ssh.use_ssh_config), or returns nil.
func readSSHConfig(inv *inventory.Inventory) (*sshconfig.Config, error) {
	if !inv.SSH.UseSSHConfig {
		return nil, nil
	}
	f, err := os.Open(inv.SSH.SSHConfigFile)
	if err != nil {
		return nil, fmt.Errorf("ssh.use_ssh_config: %w", err)
	}
	defer f.Close()
	cfg, err := sshconfig.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("ssh.use_ssh_config: %s: %w", inv.SSH.SSHConfigFile, err)
	}
	return cfg, nil
}

// withSSHConfig applies what the operator's ssh configuration says of the
// node's SSH address (an alias there, as ssh would read it): HostName, Port,
// User, IdentityFile and ProxyJump, each only where it is set.
func withSSHConfig(c remote.SSHConfig, cfg *sshconfig.Config, alias string) (remote.SSHConfig, error) {
	if cfg == nil {
		return c, nil
	}
	get := func(key string) string {
		v, err := cfg.Get(alias, key)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(v)
	}
	if h := get("HostName"); h != "" {
		c.Address = strings.ReplaceAll(h, "%h", alias)
	}
	if p := get("Port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("ssh config: Host %s: Port %q is not a port", alias, p)
		}
		c.Port = n
	}
	if u := get("User"); u != "" {
		c.User = u
	}
	if ids, err := cfg.GetAll(alias, "IdentityFile"); err == nil && len(ids) > 0 {
		var files []string
		for _, id := range ids {
			if strings.HasPrefix(id, "~/") {
				if home, err := os.UserHomeDir(); err == nil {
					id = filepath.Join(home, id[2:])
				}
			}
			files = append(files, id)
		}
		c.IdentityFiles = append(files, c.IdentityFiles...)
	}
	if pj := get("ProxyJump"); pj != "" && pj != "none" {
		c.Jumps = nil
		for _, j := range strings.Split(pj, ",") {
			user, host, port, err := inventory.ParseJump(strings.TrimSpace(j))
			if err != nil {
				return c, fmt.Errorf("ssh config: Host %s: ProxyJump %q: %v", alias, j, err)
			}
			c.Jumps = append(c.Jumps, remote.Jump{User: user, Address: host, Port: port})
		}
	} else if pj == "none" {
		c.Jumps = nil
	}
	return c, nil
}
