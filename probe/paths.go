package probe

import "time"

// Paths on the node that the probe reads and the node agent writes.
const (
	// KeepalivedLoadedPath records the hash of the configuration keepalived
	// loaded, written by the keepalived unit's start and reload hooks.
	KeepalivedLoadedPath = "/run/haup/keepalived-loaded.json"
	// LockPath is the per-node lock of a haup run.
	LockPath = "/run/haup/lock"
)

// Loaded is the record of the configuration keepalived loaded.
type Loaded struct {
	SHA256 string    `json:"sha256"`
	At     time.Time `json:"at"`
}
