// Package nodeapi is the contract between haup and its node agent,
// haup-check: the agent's configuration file, the records and reports the
// agent writes and haup reads, and the paths on the node both sides name.
// Both programs import it; neither implementation owns it. What is here is
// on the wire or on disk: a JSON tag changed here changes the format.
package nodeapi

import "github.com/haup-project/haup/agent"

// Config is the per-node configuration haup writes to ConfigPath for
// haup-check. It holds no secret: the password is read from PasswordFile.
type Config struct {
	// Node is this node's name, for messages.
	Node string `json:"node"`
	// Host and Port reach the local database.
	Host string `json:"host"`
	Port int    `json:"port"`
	User string `json:"user"`
	// PasswordFile holds the password of User; root-only.
	PasswordFile string `json:"password_file"`
	Database     string `json:"database"`
	// DeadlineMillis bounds the whole check: connect, queries and peers.
	DeadlineMillis int `json:"deadline_ms"`
	// Peers are the other nodes' databases, asked for the split-brain guard.
	Peers []Peer `json:"peers"`
	// StatePath is where the last result is written for `haup status`.
	StatePath string `json:"state_path"`
	// Container is the database container and DataDir its data directory on
	// the host (mounted at /bitnami/postgresql): fencing stops the one and
	// keeps the other aside before the node rejoins.
	Container string `json:"container,omitempty"`
	DataDir   string `json:"data_dir,omitempty"`
	// FencePath holds the record of a fencing in force; while it exists the
	// node may not hold the VIP.
	FencePath string `json:"fence_path,omitempty"`
	// VIP is the virtual address (no prefix). A primary that passes but does
	// not hold it asks who answers there: a primary on an older timeline is
	// a stale VIP holder, which it fences (see healthcheck.FenceVIPHolder).
	VIP string `json:"vip,omitempty"`
	// Synchronous is zero-loss mode: the primary's check makes commits wait
	// for a standby by the agent's rule (see agent.Decide). SyncStatePath
	// overrides SyncStatePath, where earlier agents kept its record (read
	// once, to migrate).
	Synchronous   bool   `json:"synchronous,omitempty"`
	SyncStatePath string `json:"sync_state_path,omitempty"`
	// PrecedencePath is the file keepalived tracks for this node's
	// precedence (see agent.Decide); PeerSeenPath is where earlier agents
	// recorded the timelines last seen on the peers (read once, to
	// migrate). Empty: the default paths.
	PrecedencePath string `json:"precedence_path,omitempty"`
	PeerSeenPath   string `json:"peer_seen_path,omitempty"`
	// Witness is the witness's database, when the inventory has one: a
	// primary that sees neither a peer nor the witness is isolated (see
	// agent.Decide). IsolationPath overrides IsolationPath (read once, to
	// migrate).
	Witness       *Peer  `json:"witness,omitempty"`
	IsolationPath string `json:"isolation_path,omitempty"`
	// PausePath overrides PausePath, PortFencePath PortFencePath,
	// HandoverPath HandoverPath (tests).
	PausePath     string `json:"pause_path,omitempty"`
	PortFencePath string `json:"port_fence_path,omitempty"`
	HandoverPath  string `json:"handover_path,omitempty"`
	// RepmgrdStaleS is the longest a standby's repmgrd goes between two
	// checks of its upstream (desired.RepmgrdStaleS: monitor_interval +
	// connect_timeout + 2 s); from it on the check resets repmgrd's stuck
	// connections to the peers (see agent.RepmgrdStuck). 0: never.
	RepmgrdStaleS int `json:"repmgrd_stale_s,omitempty"`
	// MemoryPath overrides MemoryPath, the agent's memory record (tests).
	MemoryPath string `json:"memory_path,omitempty"`
	// MaxLagBytes and MaxLagSeconds bound what an asynchronous promotion
	// may lose (database.max_lag_on_failover; the promotion gate); absent:
	// agent.DefaultMaxLag's.
	MaxLagBytes   *int64 `json:"max_lag_bytes,omitempty"`
	MaxLagSeconds *int   `json:"max_lag_seconds,omitempty"`
	// GateDir overrides GateDir (tests).
	GateDir string `json:"gate_dir,omitempty"`
	// MetricsDir is node_exporter's textfile directory: keepalived's runs
	// have `haup-check metrics` write MetricsFile there every
	// MetricsEvery. Empty: no metrics.
	MetricsDir string `json:"metrics_dir,omitempty"`
	// TLSRootCert is the CA certificate (a path on the node) of the
	// cluster's database certificates (database.tls): when set, every
	// connection of the agent uses TLS, verify-full to the peers and the
	// witness, verify-ca to the local database over loopback (which does
	// not leave the node). Empty: TLS off, connections in clear text.
	TLSRootCert string `json:"tls_root_cert,omitempty"`
}

// Peer is another node's database.
type Peer struct {
	Name string `json:"name"`
	Host string `json:"host"`
	Port int    `json:"port"`
}

// Paths on the node.
const (
	ConfigPath = "/etc/haup/check.json"
	BinaryPath = "/usr/local/libexec/haup/haup-check"
	StatePath  = "/run/haup/check-last.json"
	// MemoryPath is the agent's memory (agent.Memory): one record, kept
	// across reboots.
	MemoryPath = "/var/lib/haup/agent.json"
	// FencePath survives a reboot: a fenced node stays fenced until it has
	// rejoined as a standby.
	FencePath = "/var/lib/haup/fence.json"
	// GateDir holds the promotion gate's record (GateFile, written by the
	// agent at each keepalived run of a standby) and an operator's
	// acceptance of a promotion's loss (OverrideFile). The database
	// container has it read-only at GateInContainer, with the check's
	// program at BinInContainer: repmgrd's failover_validation_command and
	// the container's start gate read it there.
	GateDir         = "/var/lib/haup/gate"
	GateFile        = "promotion.json"
	OverrideFile    = "accept-data-loss.json"
	GateInContainer = "/opt/haup/gate"
	BinInContainer  = "/opt/haup/bin"
	// RejoinUnit is the systemd unit that fences hard and rejoins; the check
	// starts it without waiting (keepalived bounds the check's run time).
	RejoinUnit = "haup-rejoin.service"
)

// AgentConfig is the configuration in the agent's terms.
func (cfg Config) AgentConfig() agent.Config {
	c := agent.Config{Node: cfg.Node, Port: cfg.Port, DeadlineMillis: cfg.DeadlineMillis, Synchronous: cfg.Synchronous,
		VIP: cfg.VIP != "", RepmgrdStaleS: cfg.RepmgrdStaleS, MemoryPath: cfg.MemoryFile(),
		MaxLag: agent.DefaultMaxLag}
	if cfg.MaxLagBytes != nil {
		c.MaxLag.Bytes = *cfg.MaxLagBytes
	}
	if cfg.MaxLagSeconds != nil {
		c.MaxLag.Seconds = *cfg.MaxLagSeconds
	}
	if cfg.Witness != nil {
		c.Witness = cfg.Witness.Name
	}
	return c
}

// PauseFile is where this node records a pause of failover (PausePath,
// unless the configuration names another, as tests do).
func (cfg Config) PauseFile() string {
	if cfg.PausePath != "" {
		return cfg.PausePath
	}
	return PausePath
}

// HandoverFile is where this node records a switchover's handover
// (HandoverPath, unless the configuration names another, as tests do).
func (cfg Config) HandoverFile() string {
	if cfg.HandoverPath != "" {
		return cfg.HandoverPath
	}
	return HandoverPath
}

// MemoryFile is the agent's memory record (MemoryPath, unless the
// configuration names another, as tests do).
func (cfg Config) MemoryFile() string {
	if cfg.MemoryPath != "" {
		return cfg.MemoryPath
	}
	return MemoryPath
}
