// Package healthcheck decides whether this node may hold the VIP: only the
// writable primary that is not a stale, superseded primary passes.
package healthcheck

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
)
