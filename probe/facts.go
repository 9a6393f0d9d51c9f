// Package probe is haup's one observation of a node. The same Go types are
// filled on the node, by `haup-check facts` (nodeprobe.Collect), and read by
// haup, which plans, reports status and fences from them. Every value that
// could not be read carries its error: a failing probe is never reported as
// "absent".
package probe

import (
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
)

// Version changes whenever the Facts format or what a fact means does: an
// installed agent of another version is not asked (haup uploads its own
// probe instead).
const Version = 6

// Request says what haup wants to know about a node. It holds no secret.
type Request struct {
	// Interface is the VRRP interface; VIP the virtual address without prefix.
	Interface string `json:"interface"`
	VIP       string `json:"vip"`
	// Files are read with mode, owner and sha256; Text files also with content.
	Files []FileRequest `json:"files"`
	Dirs  []string      `json:"dirs"`
	// Image and Container name the database image and container.
	Image     string `json:"image"`
	Container string `json:"container"`
	// KeepalivedConf is the configuration file whose loaded hash is compared.
	KeepalivedConf string `json:"keepalived_conf"`
	// Staging is the directory whose leftover entries (from interrupted
	// applies) are listed.
	Staging string `json:"staging"`
	// Database asks the local database and its peers (using the installed
	// health-check configuration) for role, timeline and replication.
	Database bool `json:"database"`
}

// FileRequest is one file to read.
type FileRequest struct {
	Path string `json:"path"`
	Text bool   `json:"text,omitempty"`
}

// Facts is everything haup knows about a node, gathered in one round trip.
type Facts struct {
	Version int       `json:"version"`
	At      time.Time `json:"at"`

	UID        int    `json:"uid"`
	OSID       string `json:"os_id"`
	OSVersion  string `json:"os_version"`
	Arch       string `json:"arch"` // GOARCH name
	HasApt     bool   `json:"has_apt"`
	HasSystemd bool   `json:"has_systemd"`
	// MissingTools are the programs of CheckTools not installed here.
	MissingTools []string `json:"missing_tools,omitempty"`

	// Docker is the engine's server version; DockerError why it is unknown.
	Docker      string `json:"docker,omitempty"`
	DockerError string `json:"docker_error,omitempty"`

	Iface Iface `json:"iface"`

	Keepalived Keepalived `json:"keepalived"`

	Files map[string]FileFact `json:"files"`
	Dirs  map[string]FileFact `json:"dirs"`

	// ImageID is the local ID of the inventory's image, empty when absent
	// (ImageError says when it could not be asked).
	ImageID    string `json:"image_id,omitempty"`
	ImageError string `json:"image_error,omitempty"`
	// Container is nil when the container does not exist (ContainerError
	// says when that could not be asked).
	Container      *Container `json:"container,omitempty"`
	ContainerError string     `json:"container_error,omitempty"`

	// Database is the health check's view with replication and repmgr's
	// record; nil when not asked or not configured (DatabaseError says why).
	Database      *nodeapi.StatusReport `json:"database,omitempty"`
	DatabaseError string                `json:"database_error,omitempty"`

	// LastCheck is keepalived's last run of the check and its age.
	LastCheck     *nodeapi.Report `json:"last_check,omitempty"`
	LastCheckAgeS float64         `json:"last_check_age_s,omitempty"`

	// Fence is the record of a fencing of this node's database still in
	// force (the node may not hold the VIP until it streams again).
	Fence *nodeapi.FenceRecord `json:"fence,omitempty"`
	// Diverged lists the data directories kept aside by earlier fencings.
	Diverged []string `json:"diverged,omitempty"`
	// Kept is the same list, each with its path and what is known of it.
	Kept []KeptCopy `json:"kept,omitempty"`
	// Gate is the promotion gate's record (a standby's), GateError why it
	// could not be read.
	Gate      *agent.Gate `json:"gate,omitempty"`
	GateError string      `json:"gate_error,omitempty"`

	// Operation is a multi-step operation haup began with this node and
	// has not ended (OperationError: its record could not be read).
	Operation      *Operation `json:"operation,omitempty"`
	OperationError string     `json:"operation_error,omitempty"`
	// Apply is the record of an apply under way or interrupted
	// (ApplyRecordPath), ApplyError an unreadable one.
	Apply      *Operation `json:"apply,omitempty"`
	ApplyError string     `json:"apply_error,omitempty"`

	// Lock is the haup run holding this node, if any.
	Lock *Lock `json:"lock,omitempty"`
	// Staging lists leftovers of interrupted applies.
	Staging []string `json:"staging,omitempty"`
}

// Iface is the VRRP interface.
type Iface struct {
	Found    bool     `json:"found"`
	Addrs    []string `json:"addrs,omitempty"` // IPv4 prefixes
	HoldsVIP bool     `json:"holds_vip"`
	Error    string   `json:"error,omitempty"`
}

// Keepalived is the package, the service and what it runs.
type Keepalived struct {
	// Package is the installed version, empty when not installed.
	Package string `json:"package,omitempty"`
	// Version is what the binary says it is (`keepalived --version`), the
	// truth for a hand-built keepalived that dpkg does not know; empty when
	// no keepalived binary answered.
	Version string `json:"version,omitempty"`
	// Active is `systemctl is-active` (active, inactive, failed, ...).
	Active  string `json:"active"`
	Enabled bool   `json:"enabled"`
	PID     int    `json:"pid,omitempty"`
	// State is the VRRP state the notify script last recorded (MASTER,
	// BACKUP, FAULT, STOP), empty when none was.
	State      string    `json:"state,omitempty"`
	StateSince time.Time `json:"state_since,omitempty"`
	// LoadedSHA256 is the hash of the configuration keepalived last loaded
	// (recorded by the service's start and reload hooks), with the PID that
	// loaded it; empty when nothing was recorded.
	LoadedSHA256 string `json:"loaded_sha256,omitempty"`
	LoadedPID    int    `json:"loaded_pid,omitempty"`
	Error        string `json:"error,omitempty"`
}

// Running reports whether the service is up.
func (k Keepalived) Running() bool { return k.Active == "active" || k.Active == "reloading" }

// FileFact is what a node has at a path.
type FileFact struct {
	Exists bool        `json:"exists"`
	Mode   fs.FileMode `json:"mode,omitempty"`
	UID    int         `json:"uid,omitempty"`
	GID    int         `json:"gid,omitempty"`
	SHA256 string      `json:"sha256,omitempty"`
	// Content is read for text files haup may show in a diff.
	Content []byte `json:"content,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Container is the database container as docker inspect shows it.
type Container struct {
	ImageID   string `json:"image_id"`
	Image     string `json:"image"`
	Status    string `json:"status"`
	StartedAt string `json:"started_at"`
	// Spec is haup's label with the spec it was created from.
	Spec string `json:"spec"`
	// ImageFacts are the database image's own facts haup depends on.
	ImageFacts *ImageFacts `json:"image_facts,omitempty"`
}

// ImageFacts are what the bitnami image does on its own that haup's
// guarantees depend on, as it runs, not as haup asked for it.
type ImageFacts struct {
	// TmpInMemory: /tmp is a tmpfs, so repmgrd's pid file (pid 1) does not
	// outlive the container's run.
	TmpInMemory bool `json:"tmp_in_memory"`
	// Init is the program the container runs as its PID 1: repmgrd once
	// the image's setup (clone, initdb, registration) has ended, bash or
	// its scripts while it runs.
	Init string `json:"init,omitempty"`
	// StartGate is what haup's start gate last said, while it holds the
	// container's start (Init is haup-check).
	StartGate string `json:"start_gate,omitempty"`
	// Repmgr holds the repmgr.conf settings haup relies on, as the image
	// wrote them (nil before its first start).
	Repmgr map[string]string `json:"repmgr,omitempty"`
	Error  string            `json:"error,omitempty"`
}

// Running reports whether the container is up.
func (c *Container) Running() bool { return c != nil && c.Status == "running" }

// Lock is a haup run's claim on a node.
type Lock struct {
	Holder  string    `json:"holder"` // user@host pid N
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
	Expires time.Time `json:"expires"`
	// Nonce tells this run's lock from another's.
	Nonce string `json:"nonce"`
}

// Stale reports whether a lock's holder is gone: its time ran out, or it is
// a process of the machine asking that no longer exists. The plan, apply
// and status ask it alike.
func (l Lock) Stale() bool {
	if time.Now().After(l.Expires) {
		return true
	}
	host, _ := os.Hostname()
	if l.Host == host && l.PID > 0 {
		return syscall.Kill(l.PID, 0) == syscall.ESRCH
	}
	return false
}

// Role is the database role, or "" when it is not known.
func (f *Facts) Role() string {
	if f.Database == nil {
		return ""
	}
	return f.Database.Role
}

// CheckTools are the programs the health check runs on a node, with the
// Debian package of each: ss resets a standby's stuck repmgrd connections,
// iptables closes a frozen stale primary's port.
var CheckTools = map[string]string{"ss": "iproute2", "iptables": "iptables"}

// KeptCopy is a data directory kept aside (by a fencing, a rejoin or the
// container's start gate).
type KeptCopy struct {
	Path      string    `json:"path"`
	SizeBytes int64     `json:"size_bytes,omitempty"`
	At        time.Time `json:"at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	// Commits counts the transactions committed past the fork that the
	// start gate's record lists; CommitsComplete: from the fork on (else
	// from the last checkpoint, the WAL before having been recycled).
	Commits         int  `json:"commits,omitempty"`
	CommitsComplete bool `json:"commits_complete,omitempty"`
}
