// Package inventory reads, defaults and validates haup's inventory file: the one
// description of a cluster (nodes, VIP, keepalived settings, database container)
// that every haup command works from.
package inventory

import (
	"fmt"
	"strings"
)

// Inventory is a whole inventory file after defaults are applied. Whether a
// field was given is decided by its key in the YAML, not by its value: an
// explicit 0 is refused where 0 cannot work, never replaced by the default.
// An explicit null counts as not given.
type Inventory struct {
	// Path is the file the inventory was read from; relative secret file
	// references are resolved against its directory.
	Path string `yaml:"-"`

	Keepalived Keepalived `yaml:"keepalived"`
	Database   Database   `yaml:"database"`
	SSH        SSH        `yaml:"ssh"`
	Nodes      []Node     `yaml:"nodes"`
	// Witness is the optional third host: no VIP and no user data, a small
	// PostgreSQL of the same image in repmgr's witness role. It gives the
	// pair a majority; absent when Name is empty.
	Witness Witness `yaml:"witness"`
	// Metrics is haup's metrics for Prometheus; off when the section is
	// absent (Enabled false).
	Metrics Metrics `yaml:"metrics"`
}

// Metrics has every node's agent write haup's view of the node in the
// Prometheus text format, for node_exporter's textfile collector.
type Metrics struct {
	// TextfileDir is the directory the collector reads; the agent writes
	// haup.prom there.
	TextfileDir string `yaml:"textfile_dir"`
	// Enabled: the section is given (set by validation, from the YAML).
	Enabled bool `yaml:"-"`
}

// Witness is the witness host. It is reached and validated like a node but
// holds no VIP, runs no keepalived and no health check.
type Witness struct {
	// Name is its repmgr node name, ending in -<number> like a node's and
	// with a node id of its own.
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	// DatabaseAddress is where the nodes and repmgr reach its database;
	// default Address.
	DatabaseAddress string  `yaml:"database_address"`
	SSH             NodeSSH `yaml:"ssh"`
}

// HasWitness tells whether the inventory has a witness.
func (inv *Inventory) HasWitness() bool { return inv.Witness.Name != "" }

// WitnessNode is the witness as a Node, for what reaches and validates a
// host: name, addresses and SSH (no interface, priority or VRRP source).
func (inv *Inventory) WitnessNode() Node {
	w := inv.Witness
	return Node{Name: w.Name, Address: w.Address, DatabaseAddress: w.DatabaseAddress, SSH: w.SSH}
}

// Hosts are the nodes, then the witness when there is one: every host haup
// reaches over SSH.
func (inv *Inventory) Hosts() []Node {
	if !inv.HasWitness() {
		return inv.Nodes
	}
	return append(append([]Node(nil), inv.Nodes...), inv.WitnessNode())
}

// Keepalived holds the cluster-wide VRRP settings. Field names follow
// keepalived.conf's own keywords.
type Keepalived struct {
	// VirtualIPAddress is the VIP with its prefix length, e.g. 192.168.89.134/24.
	VirtualIPAddress string `yaml:"virtual_ipaddress"`
	// VirtualRouterID is VRRP's router id, 1..255, unique on the segment.
	VirtualRouterID int `yaml:"virtual_router_id"`
	// VRRPVersion is 2 or 3. Version 3 allows sub-second adverts (the VIP
	// follows a promotion within about a second) but has no authentication;
	// version 2 keeps PASS authentication with whole-second adverts. Default:
	// 3, or 2 when auth_pass is given.
	VRRPVersion int `yaml:"vrrp_version"`
	// AdvertInt is the VRRP advertisement interval in seconds: whole seconds
	// with version 2, hundredths (0.01..40.95) with version 3.
	AdvertInt Hundredths `yaml:"advert_int"`
	// AuthPass is the VRRP PASS authentication secret (version 2 only): at
	// most 8 bytes of printable ASCII that keepalived.conf can hold as one
	// token.
	AuthPass Secret `yaml:"auth_pass"`
	// Interface is the default interface for nodes that do not name one.
	Interface string `yaml:"interface"`
	// Check is the vrrp_script that runs haup's health check.
	Check Check `yaml:"check"`
}

// Check holds the vrrp_script timings, in keepalived's units (seconds).
type Check struct {
	Interval int `yaml:"interval"`
	Timeout  int `yaml:"timeout"`
	Fall     int `yaml:"fall"`
	Rise     int `yaml:"rise"`
}

// Database describes the database container run on every node.
type Database struct {
	Image         string `yaml:"image"`
	ContainerName string `yaml:"container_name"`
	// DataDir is the directory on the host mounted at /bitnami/postgresql.
	DataDir string `yaml:"data_dir"`
	Port    int    `yaml:"port"`
	// Primary names the node that initialises the cluster (REPMGR_PRIMARY_HOST).
	Primary          string `yaml:"primary"`
	PostgresPassword Secret `yaml:"postgres_password"`
	RepmgrPassword   Secret `yaml:"repmgr_password"`
	Repmgr           Repmgr `yaml:"repmgr"`
	// Synchronous (zero-loss mode): the primary acknowledges a commit only
	// once a standby has it, so a failover loses no acknowledged write.
	Synchronous bool `yaml:"synchronous"`
	// MaxLagOnFailover bounds what an automatic promotion may lose in
	// asynchronous mode (the promotion gate).
	MaxLagOnFailover MaxLag `yaml:"max_lag_on_failover"`
	// Environment is extra, non-secret environment for the container.
	Environment map[string]string `yaml:"environment"`
	// AllowedClients are the IPv4 networks (CIDRs, host bits clear) whose
	// clients may connect to the database, besides the nodes, the witness
	// and the VIP; all other addresses are refused by PostgreSQL (haup's
	// pg_hba.conf). Only with AllowedClientsGiven: an absent key keeps the
	// image's own rules (any address may try a password).
	AllowedClients []string `yaml:"allowed_clients"`
	// AllowedClientsGiven: the key is given, even as an empty list (only
	// the nodes). Set by validation, from the YAML.
	AllowedClientsGiven bool `yaml:"-"`
	// TLS encrypts client and replication traffic; off when the section is
	// absent (Enabled false).
	TLS TLS `yaml:"tls"`
}

// TLS is the database's TLS: the operator's certificate files (all three
// given) or, with none given, a CA haup creates beside the inventory and a
// server certificate it issues from it.
type TLS struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Require: clients that do not use TLS are refused (haup's
	// pg_hba.conf has hostssl rules only).
	Require bool `yaml:"require"`
	// MinValidDays: a given certificate that expires sooner is refused; an
	// issued one is renewed by the plan.
	MinValidDays int `yaml:"min_valid_days"`
	// Enabled: the section is given (set by validation, from the YAML).
	Enabled bool `yaml:"-"`
	// Set by validation when the files are given: their content, read once
	// (the paths above made absolute).
	CA, Cert, Key []byte `yaml:"-"`
}

// Issued tells whether haup issues the certificates (no files given).
func (t TLS) Issued() bool { return t.Enabled && t.CertFile == "" }

// MaxLag bounds an asynchronous promotion's loss: how far behind the standby
// was when it last streamed, and for how long the primary may have written
// without it.
type MaxLag struct {
	Bytes   int `yaml:"bytes"`
	Seconds int `yaml:"seconds"`
}

// Repmgr holds the failover timings passed to the image (REPMGR_* variables).
type Repmgr struct {
	ReconnectAttempts int `yaml:"reconnect_attempts"`
	ReconnectInterval int `yaml:"reconnect_interval"`
	// MonitorInterval is how often repmgrd on a standby checks its primary
	// (REPMGR_MONITOR_INTERVAL_SECS), seconds.
	MonitorInterval int `yaml:"monitor_interval"`
	ConnectTimeout  int `yaml:"connect_timeout"`
}

// SSH holds how haup reaches the nodes. Nodes may override user and port.
type SSH struct {
	User          string   `yaml:"user"`
	Port          int      `yaml:"port"`
	IdentityFiles []string `yaml:"identity_files"`
	// Agent uses the keys of the ssh-agent named by SSH_AUTH_SOCK.
	Agent      bool   `yaml:"agent"`
	KnownHosts string `yaml:"known_hosts"`
	// ProxyJump lists bastions, as "[user@]host[:port]", crossed in order to
	// reach every node; each one's host key is checked against known_hosts
	// like the nodes'. A node's own ssh.proxy_jump replaces it.
	ProxyJump []string `yaml:"proxy_jump"`
	// UseSSHConfig (opt-in) reads SSHConfigFile, as ssh does, for each node's
	// SSH address or alias: HostName, Port, User, IdentityFile and ProxyJump
	// set there win over the inventory's ssh values.
	UseSSHConfig  bool   `yaml:"use_ssh_config"`
	SSHConfigFile string `yaml:"ssh_config"`
}

// Node is one server of the cluster.
type Node struct {
	// Name is the repmgr node name; it must end in -<number> (the image derives
	// the repmgr node id from it).
	Name string `yaml:"name"`
	// Address is the node's address on the cluster network: SSH target, unicast
	// VRRP source and the database's network name unless overridden.
	Address      string `yaml:"address"`
	UnicastSrcIP string `yaml:"unicast_src_ip"`
	// DatabaseAddress is the address (IPv4 or hostname) other nodes and
	// repmgr reach this node's database at; it defaults to Address.
	DatabaseAddress string  `yaml:"database_address"`
	Interface       string  `yaml:"interface"`
	Priority        int     `yaml:"priority"`
	SSH             NodeSSH `yaml:"ssh"`
}

// NodeSSH overrides the cluster SSH settings for one node.
type NodeSSH struct {
	Address string `yaml:"address"`
	Port    int    `yaml:"port"`
	User    string `yaml:"user"`
	// ProxyJump replaces the cluster's ssh.proxy_jump for this node.
	ProxyJump []string `yaml:"proxy_jump"`
}

// Hundredths is a decimal number of seconds with at most two decimals,
// held in hundredths: 0.2 is 20.
type Hundredths int

// String writes h as keepalived.conf does: 0.2, 1, 1.25.
func (h Hundredths) String() string {
	s := fmt.Sprintf("%d.%02d", int(h)/100, int(h)%100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" {
		return "0"
	}
	return s
}

// Seconds is h as a number of seconds.
func (h Hundredths) Seconds() float64 { return float64(h) / 100 }

// Secret is a reference to a secret value held outside the inventory: exactly
// one of Env or File is set. Value is filled by Load and never printed.
type Secret struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`

	value string
}

// Value returns the resolved secret.
func (s Secret) Value() string { return s.value }

// String keeps secrets out of logs and %v output.
func (s Secret) String() string {
	switch {
	case s.Env != "":
		return "env:" + s.Env
	case s.File != "":
		return "file:" + s.File
	}
	return "(unset)"
}

// GoString keeps secrets out of %#v output.
func (s Secret) GoString() string { return s.String() }

// PartitionNote is what every plan and validation says about network
// partitions: with two nodes and no third vote, haup cannot keep one writer
// when the nodes lose sight of each other but both stay up.
func PartitionNote(inv *Inventory) string {
	if inv.HasWitness() {
		return "witness " + inv.Witness.Name + ": a node that can see neither its peer nor the witness gives up the VIP and refuses writes within about 4 s, and a standby is promoted only when the witness cannot see the primary either (README, \"Network partitions\")"
	}
	return "no witness: if the nodes lose sight of each other while both stay up, the standby is promoted and both sides can hold the VIP and take writes until the network heals; then the older primary is fenced and its writes since the cut are set aside (README, \"Network partitions\")"
}
