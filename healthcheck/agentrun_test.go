package healthcheck

import (
	"context"
	"testing"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
)

// agentRun is one keepalived run through the agent on a real database, as
// cmd/haup-check's cycle does it (without the promotion watch, the VIP and
// the memory file): mem is the memory before and after.
func agentRun(t *testing.T, cfg nodeapi.Config, mem *agent.Memory) (nodeapi.Report, agent.Decision) {
	t.Helper()
	begin := time.Now()
	if mem.Version == 0 {
		mem.Version = agent.MemoryVersion
	}
	r := RunRecalling(context.Background(), cfg, testPassword, *mem)
	obs := agent.Observation{Keepalived: true, Begin: begin}
	obs.Local, obs.Peers, obs.Witness = r.Observed()
	if f, _ := ReadFence(cfg.FencePath); f != nil {
		obs.Fence = &agent.Fence{At: f.At, Reason: f.Reason}
	}
	obs.Now = time.Now()
	d := agent.Decide(cfg.AgentConfig(), obs, *mem)
	var results []agent.Result
	for _, a := range d.Actions {
		var res agent.Result
		switch a.Kind {
		case agent.ActWatchPromotion, agent.ActFenceVIPHolder:
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			res = Do(ctx, Host{}, cfg, testPassword, r, a)
			cancel()
		}
		results = append(results, res)
	}
	d = agent.Settle(d, results)
	*mem = d.Memory
	r.Pass, r.Reason, r.Sync, r.Isolated = d.Pass, d.Message(), d.Sync, d.Isolated
	t.Logf("agent run: pass=%v codes=%v reason=%q sync=%q", d.Pass, d.Codes(), r.Reason, r.Sync)
	return r, d
}
