package healthcheck

import (
	"context"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
)

// keepalived runs the check once a second (its vrrp_script interval takes
// whole seconds), so a standby promoted just after a run waited up to a
// second for the next one before it could take the VIP: about half of the
// time from promotion to VIP. A standby's check that finds a failover under
// way therefore spends the rest of its deadline watching its own database
// for the promotion, and on seeing it checks the node again as the primary
// it now is: the VIP follows within the same run.

// walReceiverQuery reads the WAL receiver's state ("" when none runs: its
// upstream went away, or none was ever reached).
const walReceiverQuery = `SELECT coalesce((SELECT status FROM pg_stat_wal_receiver LIMIT 1), '')`

// promotionQuery: in recovery, and the WAL receiver's state.
const promotionQuery = `SELECT pg_is_in_recovery(), (` + walReceiverQuery + `)`

// AwaitPromotion watches the local database of a standby until it is
// promoted (true) or ctx ends (false). It returns at once, false, when no
// failover is under way (agent.FailoverUnderWay) or the database does not answer.
// st is the local repmgrd's state (nil if unknown). One connection, one
// short query every agent.PromotionPoll.
func AwaitPromotion(ctx context.Context, cfg nodeapi.Config, password string, st *agent.Repmgrd) (bool, error) {
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
		if first && !agent.FailoverUnderWay(string(res.Rows[0][1]), st) {
			return false, nil
		}
		t := time.NewTimer(agent.PromotionPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, nil
		case <-t.C:
		}
	}
}

// Within is cfg with its deadline cut to what is left until end: a check
// run again in the same keepalived run must end by the same time.
func Within(cfg nodeapi.Config, end time.Time) nodeapi.Config {
	cfg.DeadlineMillis = max(1, int(time.Until(end)/time.Millisecond))
	return cfg
}
