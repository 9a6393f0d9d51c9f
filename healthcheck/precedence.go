package healthcheck

import (
	"os"
	"strconv"
	"strings"

	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/nodeapi"
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

// WritePrecedence writes v to the file keepalived tracks. It writes only
// when the file differs (keepalived watches it), and reads the file rather
// than trusting a cache: keepalived may have reset it.
func WritePrecedence(cfg nodeapi.Config, v int) error {
	path := cfg.PrecedencePath
	if path == "" {
		path = nodeapi.PrecedencePath
	}
	cur, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(cur)) == strconv.Itoa(v) {
		return nil
	}
	return atomicfile.Write(path, []byte(strconv.Itoa(v)+"\n"), 0o644)
}
