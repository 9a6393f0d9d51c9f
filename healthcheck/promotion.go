package healthcheck

import (
	"context"
	"time"
)

// keepalived runs the check once a second (its vrrp_script interval takes
// whole seconds), so a standby promoted just after a run waited up to a
// second for the next one before it could take the VIP: about half of the
// time from promotion to VIP. A standby's check that finds a failover under
// way therefore spends the rest of its deadline watching its own database
// for the promotion, and on seeing it checks the node again as the primary
// it now is: the VIP follows within the same run.

// FailoverAfterS is how long repmgrd may go without reaching its upstream
// before a failover counts as under way: one missed pass of its monitoring
// loop at the default monitor_interval (1 s), whose counter advances in
// whole seconds.
const FailoverAfterS = 2

// PromotionPoll is how often a standby's check asks its database whether it
// was promoted while a failover is under way.
const PromotionPoll = 50 * time.Millisecond

// walReceiverQuery reads the WAL receiver's state ("" when none runs: its
// upstream went away, or none was ever reached).
const walReceiverQuery = `SELECT coalesce((SELECT status FROM pg_stat_wal_receiver LIMIT 1), '')`

// promotionQuery: in recovery, and the WAL receiver's state.
const promotionQuery = `SELECT pg_is_in_recovery(), (` + walReceiverQuery + `)`

// FailoverUnderWay says whether a standby may be about to be promoted: its
// WAL receiver is not streaming (the primary went away, or a switchover
// stopped it), or its repmgrd has not reached the primary for
// FailoverAfterS or more. st is nil when repmgrd's state could not be read
// (ReadRepmgrd, which also reads the WAL receiver's state into it).
func FailoverUnderWay(walReceiver string, st *RepmgrdState) bool {
	if walReceiver != "streaming" {
		return true
	}
	return st != nil && st.Running && st.UpstreamLastSeenS >= FailoverAfterS
}

// AwaitPromotion watches the local database of a standby until it is
// promoted (true) or ctx ends (false). It returns at once, false, when no
// failover is under way (FailoverUnderWay) or the database does not answer.
// st is the local repmgrd's state (nil if unknown). One connection, one
// short query every PromotionPoll.
func AwaitPromotion(ctx context.Context, cfg Config, password string, st *RepmgrdState) (bool, error) {
	conn, err := connectLocal(ctx, cfg, password, "haup-check")
	if err != nil {
		return false, describe(ctx, err)
	}
	defer conn.Close(context.Background())
	for first := true; ; first = false {
		res := conn.ExecParams(ctx, promotionQuery, nil, nil, nil, nil).Read()
		if res.Err != nil {
			if ctx.Err() != nil {
				return false, nil
			}
			return false, describe(ctx, res.Err)
		}
		if len(res.Rows) != 1 || len(res.Rows[0]) != 2 {
			return false, nil
		}
		if string(res.Rows[0][0]) == "f" {
			return true, nil
		}
		if first && !FailoverUnderWay(string(res.Rows[0][1]), st) {
			return false, nil
		}
		t := time.NewTimer(PromotionPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, nil
		case <-t.C:
		}
	}
}

// UnansweredAfterMS is how long a connection of repmgrd's whose server's
// host acknowledges nothing waits before it counts as stuck, for a
// RepmgrdStaleS of staleS (monitor_interval + connect_timeout + 2, see
// tasks.RepmgrdStaleS): connect_timeout plus half a second at least, so a
// ping that repmgrd is still setting up (bounded by connect_timeout) has
// ended before; FailoverAfterS at least. 2.5 s at the defaults.
func UnansweredAfterMS(staleS int) int {
	return max(FailoverAfterS*1000, (staleS-2)*1000-500)
}

// Within is cfg with its deadline cut to what is left until end: a check
// run again in the same keepalived run must end by the same time.
func Within(cfg Config, end time.Time) Config {
	cfg.DeadlineMillis = max(1, int(time.Until(end)/time.Millisecond))
	return cfg
}
