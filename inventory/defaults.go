package inventory

// Defaults, in one place. The check and repmgr timings were chosen from the
// failover drills on the lab (see README.md, "Failover timings").
const (
	DefaultAdvertInt         = 1
	DefaultCheckInterval     = 2
	DefaultCheckTimeout      = 1
	DefaultCheckFall         = 2
	DefaultCheckRise         = 1
	DefaultSSHUser           = "root"
	DefaultSSHPort           = 22
	DefaultKnownHosts        = "~/.ssh/known_hosts"
	DefaultDBPort            = 5432
	DefaultContainerName     = "pg"
	DefaultDataDir           = "/var/lib/haup/postgresql"
	DefaultPriority          = 100
	DefaultReconnectAttempts = 2
	DefaultReconnectInterval = 2
	DefaultConnectTimeout    = 2
)

func orInt(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}

func orString(v *string, d string) {
	if *v == "" {
		*v = d
	}
}

// applyDefaults fills every unset field. Zero means unset: no valid setting
// of these fields is zero.
func applyDefaults(inv *Inventory) {
	k := &inv.Keepalived
	orInt(&k.AdvertInt, DefaultAdvertInt)
	orInt(&k.Check.Interval, DefaultCheckInterval)
	orInt(&k.Check.Timeout, DefaultCheckTimeout)
	orInt(&k.Check.Fall, DefaultCheckFall)
	orInt(&k.Check.Rise, DefaultCheckRise)
	s := &inv.SSH
	orString(&s.User, DefaultSSHUser)
	orInt(&s.Port, DefaultSSHPort)
	orString(&s.KnownHosts, DefaultKnownHosts)
	db := &inv.Database
	orInt(&db.Port, DefaultDBPort)
	orString(&db.ContainerName, DefaultContainerName)
	orString(&db.DataDir, DefaultDataDir)
	orInt(&db.Repmgr.ReconnectAttempts, DefaultReconnectAttempts)
	orInt(&db.Repmgr.ReconnectInterval, DefaultReconnectInterval)
	orInt(&db.Repmgr.ConnectTimeout, DefaultConnectTimeout)
	if db.Primary == "" && len(inv.Nodes) > 0 {
		db.Primary = inv.Nodes[0].Name
	}
	for i := range inv.Nodes {
		n := &inv.Nodes[i]
		// With nopreempt and the health check deciding, priority only breaks
		// ties; list order is the natural default.
		orInt(&n.Priority, max(DefaultPriority-10*i, 1))
		orString(&n.UnicastSrcIP, n.Address)
		orString(&n.Interface, k.Interface)
		orString(&n.SSH.Address, n.Address)
		orInt(&n.SSH.Port, s.Port)
		orString(&n.SSH.User, s.User)
	}
}
