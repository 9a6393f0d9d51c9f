package healthcheck

import (
	"context"

	"github.com/haup-project/haup/nodeapi"
)

// Isolation: with a witness, a primary that can see neither its peer nor the
// witness is in the minority of a partition. It must not keep the VIP or take
// writes: the standby, with the witness, may be promoted on the other side.
//
// The rule, decided by the agent (agent.Decide) and run by the primary's check:
//   - A peer is "seen" when its host answers on the network: its database
//     replied, or its port refused the connection (the host is there, its
//     database is not: a standby being cloned or restarted). The witness is
//     seen only when its database answers, since its vote is its repmgr. A
//     timeout or an unreachable route is "not seen".
//   - A primary that sees neither any peer nor the witness fails the check at
//     once (keepalived drops the VIP after fall checks) and, at the second
//     isolated check in a row, refuses writes: default_transaction_read_only
//     on and every client session ended, as the stale-primary fence does, with
//     a record in the agent's memory.
//   - It is reversible: once a peer's database answers again as a standby,
//     the record is removed and writes are allowed again. A peer that answers
//     as a newer primary makes this node stale instead (fence and rejoin). The
//     witness alone coming back is not enough: the standby may have been
//     promoted meanwhile, so the node stays read-only until it sees its peer
//     as a standby (`haup-check undemote` on the node lifts it by hand).
//
// Without a witness the rule is off: with two nodes, "I see nobody" cannot
// tell a partition from a dead standby, and losing the standby must never
// take the VIP from a healthy primary.

// IsolationPath is where earlier agents recorded an isolation (now in the
// agent's memory record; read once, to migrate).
const IsolationPath = "/var/lib/haup/isolation.json"

// askWitness runs SELECT 1 on the witness's database.
func askWitness(ctx context.Context, cfg nodeapi.Config, password string, w nodeapi.Peer) error {
	c := cfg
	c.Host, c.Port = w.Host, w.Port
	_, err := query(ctx, c, password, "postgres", "SELECT 1")
	return err
}

// RefuseWrites is the isolation rule's step down: the local database
// refuses writes (default_transaction_read_only on, client sessions ended),
// as the stale-primary fence does. Undemote lifts it.
func RefuseWrites(ctx context.Context, cfg nodeapi.Config, password string) error {
	return fenceAt(ctx, cfg, password, cfg.Host)
}
