package agent

import (
	"encoding/json"
	"fmt"
	"time"
)

// MemoryVersion is the memory record's schema version.
const MemoryVersion = 1

// Memory is what the agent keeps from one run to the next: one record, one
// file (MemoryPath), written atomically by the runner when it changed.
//
// What is not in it, and why: the fence record (fence.json) is shared with
// the rejoin unit, which writes it while the check runs, and with haup; the
// port fence's mark (in /run) lives exactly as long as the firewall rules it
// stands for; the precedence file is keepalived's input; the last report is
// what `haup status` reads; the failover pause is the switchover's. Those
// are observed (or written by an action), not remembered.
type Memory struct {
	Version int `json:"version"`
	// Boot is the boot the record was written in: Known is forgotten at a
	// reboot (it lived in /run before).
	Boot string `json:"boot,omitempty"`
	// Known is what the local database last said about itself (see the
	// frozen-primary rule).
	Known *Known `json:"known,omitempty"`
	// Peers is, per peer, the timeline it was last seen on and whether it
	// went unanswered at the last run (see decidePrecedence).
	Peers map[string]PeerMemory `json:"peers,omitempty"`
	// Passing counts this node's passing runs in a row as a primary newer
	// than every peer's last seen timeline (up to precedenceChecks).
	Passing int `json:"passing,omitempty"`
	// Sync is zero-loss mode's record: whether a standby streamed from
	// this primary on its timeline.
	Sync *SyncMemory `json:"sync,omitempty"`
	// Isolation counts isolated runs and says whether writes are refused.
	Isolation *Isolation `json:"isolation,omitempty"`
	// Handover: this node handed the VIP over in a switchover and keeps
	// the lowest priority until it passes again (see decideHandover).
	Handover bool `json:"handover,omitempty"`

	// Problem is set when the record could not be read: the check then
	// fails closed until it is repaired or removed.
	Problem string `json:"-"`
}

// Known is what the local database last said about itself.
type Known struct {
	Role     Role      `json:"role"`
	Timeline int       `json:"timeline,omitempty"`
	LSN      string    `json:"lsn,omitempty"`
	At       time.Time `json:"at"`
}

// PeerMemory is what is remembered of a peer.
type PeerMemory struct {
	// Timeline is the timeline it was last seen on (0: never).
	Timeline int `json:"timeline,omitempty"`
	// Silent: it went unanswered at the last run that asked it.
	Silent bool `json:"silent,omitempty"`
}

// SyncMemory records whether a standby streamed from this primary on
// Timeline.
type SyncMemory struct {
	Timeline    int  `json:"timeline"`
	StandbySeen bool `json:"standby_seen"`
	// Answering counts the runs in a row that saw the standby answer
	// without streaming (see SuspendAfterRuns).
	Answering int `json:"answering,omitempty"`
}

// Isolation is the isolation rule's record (see decideIsolation).
type Isolation struct {
	Since  time.Time `json:"since"`
	Checks int       `json:"checks"`
	// Fenced is set once the node refuses writes because of it.
	Fenced   bool      `json:"fenced,omitempty"`
	FencedAt time.Time `json:"fenced_at,omitempty"`
	Timeline int       `json:"timeline,omitempty"`
}

// ParseMemory reads a memory record. A record that cannot be read, or of
// another version, comes back with Problem set: the check fails closed.
func ParseMemory(b []byte) Memory {
	var m Memory
	if err := json.Unmarshal(b, &m); err != nil {
		return Memory{Problem: err.Error()}
	}
	if m.Version != MemoryVersion {
		return Memory{Problem: fmt.Sprintf("schema version %d, this agent reads %d", m.Version, MemoryVersion)}
	}
	return m
}

// Encode is the record as written.
func (m Memory) Encode() []byte {
	m.Version = MemoryVersion
	b, _ := json.Marshal(m)
	return append(b, '\n')
}

// Equal tells whether two records are the same as written.
func (m Memory) Equal(o Memory) bool { return string(m.Encode()) == string(o.Encode()) }

// Legacy is what the agent kept before the memory record, one file each;
// nil when the file was absent. It is read once, when the record is absent.
type Legacy struct {
	// LastReport is the last report (/run/haup/check-last.json).
	LastReport []byte
	// PeerSeen is the peers' record (peer-timelines.json): timelines by
	// name, " silent NAME": 1, " passing": n.
	PeerSeen []byte
	// Sync is sync.json, Isolation isolation.json.
	Sync      []byte
	Isolation []byte
}

// Migrate builds the memory record from the files of earlier agents, with
// what each file's reader did with an unreadable file: an unreadable last
// report or peer record or sync record counted as absent, an unreadable
// isolation record as a refusal of writes in force.
func Migrate(l Legacy, boot string) Memory {
	m := Memory{Version: MemoryVersion, Boot: boot}
	if l.LastReport != nil {
		var r struct {
			Role     Role      `json:"role"`
			Timeline int       `json:"timeline"`
			LSN      string    `json:"lsn"`
			At       time.Time `json:"at"`
			Known    *Known    `json:"known"`
		}
		if json.Unmarshal(l.LastReport, &r) == nil {
			if r.Role != RoleDown && r.Role != "" {
				m.Known = &Known{Role: r.Role, Timeline: r.Timeline, LSN: r.LSN, At: r.At}
			} else {
				m.Known = r.Known
			}
		}
	}
	if l.PeerSeen != nil {
		seen := map[string]int{}
		if json.Unmarshal(l.PeerSeen, &seen) == nil {
			for k, v := range seen {
				switch {
				case k == " passing":
					m.Passing = v
				case len(k) > len(" silent ") && k[:len(" silent ")] == " silent ":
					if v == 1 {
						p := m.peer(k[len(" silent "):])
						p.Silent = true
						m.Peers[k[len(" silent "):]] = p
					}
				default:
					p := m.peer(k)
					p.Timeline = v
					m.Peers[k] = p
				}
			}
		}
	}
	if l.Sync != nil {
		var s SyncMemory
		if json.Unmarshal(l.Sync, &s) == nil && s != (SyncMemory{}) {
			m.Sync = &s
		}
	}
	if l.Isolation != nil {
		var i Isolation
		if json.Unmarshal(l.Isolation, &i) != nil {
			i = Isolation{Fenced: true}
		}
		m.Isolation = &i
	}
	return m
}

func (m *Memory) peer(name string) PeerMemory {
	if m.Peers == nil {
		m.Peers = map[string]PeerMemory{}
	}
	return m.Peers[name]
}
