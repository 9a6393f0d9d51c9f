package inventory

import "fmt"

// Defaults, in one place. The check and repmgr timings were chosen from the
// failover drills on the lab (see README.md, "Failover timings").
const (
	// VRRP version 3 with adverts every 0.1 s: a promoted standby whose
	// check passes takes the VIP after about 0.35 s of silence from a master
	// (3 adverts plus the skew).
	DefaultVRRPVersion   = 3
	DefaultAdvertInt     = Hundredths(10)
	DefaultAdvertIntV2   = Hundredths(100)
	DefaultCheckInterval = 1
	DefaultCheckTimeout  = 1
	DefaultCheckFall     = 2
	DefaultCheckRise     = 1
	DefaultSSHUser       = "root"
	DefaultSSHPort       = 22
	DefaultKnownHosts    = "~/.ssh/known_hosts"
	DefaultDBPort        = 5432
	DefaultContainerName = "pg"
	DefaultDataDir       = "/var/lib/haup/postgresql"
	DefaultPriority      = 100
	// repmgrd checks its primary every second; a check unanswered for
	// connect_timeout (2 s, libpq's minimum) is tried once more, and then
	// the standby is promoted. A switchover pauses this (PauseFailover).
	DefaultReconnectAttempts = 0
	// DefaultMaxLagBytes and DefaultMaxLagSeconds: one WAL segment, ten
	// seconds of writes (agent.DefaultMaxLag).
	DefaultMaxLagBytes       = 16 << 20
	DefaultMaxLagSeconds     = 10
	DefaultReconnectInterval = 1
	DefaultMonitorInterval   = 1
	DefaultConnectTimeout    = 2
	// DefaultTLSMinValidDays: a given certificate must stay valid a month
	// more; an issued one is renewed a month before it expires.
	DefaultTLSMinValidDays = 30
)

// applyDefaults fills every field the inventory does not give. Whether it is
// given is the YAML's business (has), not the value's: an explicit 0 or ""
// stays, for validation to refuse, instead of silently becoming the default.
func applyDefaults(inv *Inventory, has func(path string) bool) {
	orInt := func(path string, v *int, d int) {
		if !has(path) {
			*v = d
		}
	}
	orString := func(path string, v *string, d string) {
		if !has(path) {
			*v = d
		}
	}
	k := &inv.Keepalived
	if !has("keepalived.vrrp_version") {
		// The recipe's PASS authentication exists only in version 2.
		k.VRRPVersion = DefaultVRRPVersion
		if has("keepalived.auth_pass") {
			k.VRRPVersion = 2
		}
	}
	if !has("keepalived.advert_int") {
		k.AdvertInt = DefaultAdvertInt
		if k.VRRPVersion == 2 {
			k.AdvertInt = DefaultAdvertIntV2
		}
	}
	orInt("keepalived.check.interval", &k.Check.Interval, DefaultCheckInterval)
	orInt("keepalived.check.timeout", &k.Check.Timeout, DefaultCheckTimeout)
	orInt("keepalived.check.fall", &k.Check.Fall, DefaultCheckFall)
	orInt("keepalived.check.rise", &k.Check.Rise, DefaultCheckRise)
	s := &inv.SSH
	orString("ssh.user", &s.User, DefaultSSHUser)
	orInt("ssh.port", &s.Port, DefaultSSHPort)
	orString("ssh.known_hosts", &s.KnownHosts, DefaultKnownHosts)
	db := &inv.Database
	orInt("database.port", &db.Port, DefaultDBPort)
	orString("database.container_name", &db.ContainerName, DefaultContainerName)
	orString("database.data_dir", &db.DataDir, DefaultDataDir)
	if !has("database.tls.require") {
		db.TLS.Require = true
	}
	orInt("database.tls.min_valid_days", &db.TLS.MinValidDays, DefaultTLSMinValidDays)
	orInt("database.repmgr.reconnect_attempts", &db.Repmgr.ReconnectAttempts, DefaultReconnectAttempts)
	orInt("database.repmgr.reconnect_interval", &db.Repmgr.ReconnectInterval, DefaultReconnectInterval)
	orInt("database.repmgr.monitor_interval", &db.Repmgr.MonitorInterval, DefaultMonitorInterval)
	orInt("database.repmgr.connect_timeout", &db.Repmgr.ConnectTimeout, DefaultConnectTimeout)
	orInt("database.max_lag_on_failover.bytes", &db.MaxLagOnFailover.Bytes, DefaultMaxLagBytes)
	orInt("database.max_lag_on_failover.seconds", &db.MaxLagOnFailover.Seconds, DefaultMaxLagSeconds)
	if len(inv.Nodes) > 0 {
		orString("database.primary", &db.Primary, inv.Nodes[0].Name)
	}
	for i := range inv.Nodes {
		n := &inv.Nodes[i]
		p := fmt.Sprintf("nodes[%d].", i)
		// With the health check deciding, priority only breaks
		// ties; list order is the natural default.
		orInt(p+"priority", &n.Priority, max(DefaultPriority-10*i, 1))
		orString(p+"unicast_src_ip", &n.UnicastSrcIP, n.Address)
		orString(p+"database_address", &n.DatabaseAddress, n.Address)
		orString(p+"interface", &n.Interface, k.Interface)
		orString(p+"ssh.address", &n.SSH.Address, n.Address)
		orInt(p+"ssh.port", &n.SSH.Port, s.Port)
		orString(p+"ssh.user", &n.SSH.User, s.User)
	}
	if w := &inv.Witness; w.Name != "" {
		orString("witness.database_address", &w.DatabaseAddress, w.Address)
		orString("witness.ssh.address", &w.SSH.Address, w.Address)
		orInt("witness.ssh.port", &w.SSH.Port, s.Port)
		orString("witness.ssh.user", &w.SSH.User, s.User)
	}
}
