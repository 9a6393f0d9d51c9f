package healthcheck

import (
	"context"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
)

// Do carries out one of the agent's actions on this node, through sys for
// what it runs besides the database; ctx bounds it.
// r is the run's report (the fence record takes its timeline and position).
// The runner does the rest itself: the promotion watch (it observes again)
// and the detached fencing of the VIP holder.
func Do(ctx context.Context, sys System, cfg nodeapi.Config, password string, r nodeapi.Report, a agent.Action) agent.Result {
	res := agent.Result{}
	var err error
	switch a.Kind {
	case agent.ActResetRepmgrd:
		var socks []Socket
		socks, err = ResetRepmgrdConnections(ctx, sys, cfg.Peers, a.IdleMS, a.UnansweredMS)
		for _, s := range socks {
			res.Reset = append(res.Reset, s.Local+" -> "+s.Remote)
		}
	case agent.ActClearFence:
		// The record's history is kept; an error leaves it for the next run.
		res.Done, err = ClearFenceIfRejoined(cfg, r, true)
	case agent.ActRefuseWrites:
		err = RefuseWrites(ctx, cfg, password)
	case agent.ActLiftIsolation:
		err = Undemote(ctx, cfg, password)
	case agent.ActFenceStale:
		f := r
		f.Reason = a.Reason
		if a.Stale != nil {
			f.Stale = &nodeapi.Stale{Peer: a.Stale.Peer, Timeline: a.Stale.Timeline}
		}
		err = Fence(ctx, sys, cfg, password, f)
	case agent.ActFenceFrozen:
		var k nodeapi.Known
		if a.Known != nil {
			k = nodeapi.Known{Role: string(a.Known.Role), Timeline: a.Known.Timeline, LSN: a.Known.LSN, At: a.Known.At}
		}
		var st nodeapi.Stale
		if a.Stale != nil {
			st = nodeapi.Stale{Peer: a.Stale.Peer, Timeline: a.Stale.Timeline}
		}
		err = FenceFrozen(ctx, sys, cfg, a.Reason, k, st)
	case agent.ActOpenPort:
		err = OpenPort(ctx, sys, cfg)
	case agent.ActClosePort:
		err = ClosePort(ctx, sys, cfg, a.Reason)
	case agent.ActSetSync:
		err = SetSyncNames(ctx, cfg, password, a.Names)
	case agent.ActEndPause:
		if a.Pause != nil {
			err = EndPause(ctx, cfg, password, a.Pause.At)
		}
	case agent.ActWritePrecedence:
		err = WritePrecedence(cfg, a.Precedence)
	}
	res.At = time.Now().UTC()
	if err != nil {
		res.Err = err.Error()
	}
	return res
}

// WALStreaming tells whether the local standby's WAL receiver streams.
func WALStreaming(ctx context.Context, cfg nodeapi.Config, password string) bool {
	rows, err := query(ctx, cfg, password, dbName(cfg), walReceiverQuery)
	return err == nil && len(rows) == 1 && len(rows[0]) == 1 && rows[0][0] == "streaming"
}
