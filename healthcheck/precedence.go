package healthcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Precedence: which of two passing primaries keeps the VIP.
//
// Normally one node passes the check and the VIP follows it. Two nodes pass
// only when each is a primary that cannot reach the other's database: a
// standby promoted while PostgreSQL between the nodes is cut, with VRRP still
// flowing. keepalived then keeps the VIP where it is (equal priorities, or a
// higher one for the old primary), on the primary whose timeline is about to
// be discarded. The fix is a priority that follows the promotion: a passing
// primary whose timeline is newer than the last timeline it saw on every
// peer writes 1 to PrecedencePath, which keepalived tracks (track_file,
// weight 253) and adds to its priority, so it preempts the old primary within
// keepalived's master-down interval. Everywhere else the file holds 0.
//
// Why "newer than the last seen on every peer" and not the timeline itself: a
// priority is bounded (1..254) and timelines grow by one at every failover
// and switchover; a rank relative to what the peers were last seen on is 0
// or 1 forever. A primary whose standby streams from it sees that standby on
// its own timeline, so its precedence is 0; only a primary that was promoted
// and has not seen its peer since gets 1, and a peer can only be on a newer
// timeline by following this node first, which this node would have seen.

// Paths of the precedence files on the node.
const (
	PrecedencePath = "/var/lib/haup/precedence"
	PeerSeenPath   = "/var/lib/haup/peer-timelines.json"
)

// Precedence computes this node's precedence (0 or 1) from the check's
// report and the timelines last seen on the peers (updated from the report;
// the bool says whether seen changed).
func Precedence(r Report, seen map[string]int) (int, bool) {
	changed := false
	for _, p := range r.Peers {
		answered := p.Error == "" && p.Timeline > 0 && (p.Role == RolePrimary || p.Role == RoleStandby)
		if answered && seen[p.Name] != p.Timeline {
			seen[p.Name] = p.Timeline
			changed = true
		}
		// Whether the peer went unanswered at this check (see olderPeers).
		if _, was := seen[silentKey(p.Name)]; answered && was {
			delete(seen, silentKey(p.Name))
			changed = true
		} else if !answered && p.Error != "" && !was {
			seen[silentKey(p.Name)] = 1
			changed = true
		}
	}
	candidate := r.Pass && r.Role == RolePrimary && r.Timeline > 0
	for _, p := range r.Peers {
		if seen[p.Name] >= r.Timeline {
			candidate = false
		}
	}
	// Precedence waits for precedenceChecks passing checks in a row: in a
	// failover or a switchover the old primary's own check has failed by
	// then (fall x interval) and it has left MASTER by itself, so the VIP
	// moves without a preemption (a preemption is a moment, a few ms, with
	// two VIP holders). Only an old primary that still passes, behind a cut,
	// is preempted.
	n := seen[passingKey]
	switch {
	case candidate && n < precedenceChecks:
		seen[passingKey] = n + 1
		changed = true
	case !candidate && n != 0:
		delete(seen, passingKey)
		changed = true
	}
	if candidate && seen[passingKey] >= precedenceChecks {
		return 1, changed
	}
	return 0, changed
}

// silentKey marks, in the peer record, a peer that went unanswered at the
// last check that asked it.
func silentKey(name string) string { return " silent " + name }

// passingKey counts, in the peer record, this node's passing checks in a row
// as a primary newer than its peers (no node name has a space).
const passingKey = " passing"

// precedenceChecks is that count before the precedence is 1: two more than
// keepalived's fall with haup's defaults. With a database network cut, the
// promoted node's first passing check fences the old VIP holder through the
// VIP (FenceVIPHolder); that one's check fails from its next run and it
// leaves MASTER fall checks later: at most 2 intervals after the promoted
// node's first pass. At 3 the preemption raced that departure (a 100 ms
// sample with two VIP holders in CI); at 4 it comes a whole interval after.
const precedenceChecks = 4

// WritePrecedence updates the peer record and the precedence file after a
// check. It writes only what changed (keepalived watches the file), and reads
// the file rather than trusting a cache: keepalived may have reset it.
func WritePrecedence(cfg Config, r Report) (int, error) {
	path, seenPath := cfg.PrecedencePath, cfg.PeerSeenPath
	if path == "" {
		path = PrecedencePath
	}
	if seenPath == "" {
		seenPath = PeerSeenPath
	}
	seen := map[string]int{}
	if b, err := os.ReadFile(seenPath); err == nil {
		// An unreadable record counts as empty: the worst case is a
		// precedence of 1 for a primary that already passes its check.
		_ = json.Unmarshal(b, &seen)
	}
	v, changed := Precedence(r, seen)
	if changed {
		b, _ := json.Marshal(seen)
		if err := writeAtomic(seenPath, append(b, '\n'), 0o644); err != nil {
			return v, err
		}
	}
	cur, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(cur)) == strconv.Itoa(v) {
		return v, nil
	}
	return v, writeAtomic(path, []byte(strconv.Itoa(v)+"\n"), 0o644)
}

// writeAtomic writes b to path through a temporary file in its directory.
func writeAtomic(path string, b []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
