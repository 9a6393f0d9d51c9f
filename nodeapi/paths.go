package nodeapi

// NextSuffix marks a password being rotated in: haup writes the new
// password beside the live file, sets it inside the database, then moves it
// over the live file. While both exist the agent tries the live one first.
const NextSuffix = ".next"

// Paths on the node: the file keepalived tracks, and where earlier agents
// recorded the peers' timelines (now in the agent's memory record; read
// once, to migrate). The rule is the agent's (see agent.Decide).
const (
	PrecedencePath = "/var/lib/haup/precedence"
	PeerSeenPath   = "/var/lib/haup/peer-timelines.json"
)

// VRRPStatePath is written by the notify script haup installs, on VRRP
// state changes (the state, then the time); the probe reads it.
const VRRPStatePath = "/run/haup/vrrp-state"

// MetricsFileName is the file the agent writes in the textfile directory
// (metrics_dir); node_exporter's collector reads every *.prom file there.
const MetricsFileName = "haup.prom"
