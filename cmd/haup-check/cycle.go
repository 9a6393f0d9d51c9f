package main

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/nodeapi"
)

// cycle is one run of the check: observe once, decide (agent.Decide),
// carry out the actions within the run's one budget (agent.Budget: 92% of
// keepalived's timeout, from the check's deadline), fold their outcomes in
// (agent.Settle), and keep the memory record. Only keepalived's own runs act
// and remember, so `haup status` shows what keepalived last saw, not a run
// by haup or a person.
type cycle struct {
	cfg        nodeapi.Config
	password   string
	configPath string
	keepalived bool
	begin      time.Time
	// sys is the host the actions run their commands on (besides the
	// database's).
	sys healthcheck.System
	// end is the budget's end.
	end time.Time
}

// minActionTime is the least an action is given when the budget is spent
// (the zero-loss mode's floor): it may then end a little after the budget.
const minActionTime = 100 * time.Millisecond

func (c *cycle) run() (nodeapi.Report, agent.Decision) {
	acfg := c.cfg.AgentConfig()
	c.end = agent.Budget(acfg, c.begin)
	boot := healthcheck.BootID()
	mem, migrated := healthcheck.LoadMemory(c.cfg, boot)

	r := healthcheck.RunRecalling(context.Background(), c.cfg, c.password, mem)
	// During a password rotation the database may already have the new
	// password while the live file still holds the old one.
	if healthcheck.AuthFailed(r) {
		if next, ok := healthcheck.NextPassword(c.cfg); ok {
			c.password = next
			r = healthcheck.RunRecalling(context.Background(), c.cfg, c.password, mem)
		}
	}
	obs := c.observe(r, boot)
	d := agent.Decide(acfg, obs, mem)
	results, promoted := c.carryOut(d, r, obs)
	if promoted {
		// Checked again as the primary it now is, in what is left of the
		// deadline; the first decision's remaining actions are dropped.
		deadline := c.begin.Add(time.Duration(c.cfg.DeadlineMillis) * time.Millisecond)
		r = healthcheck.RunRecalling(context.Background(), healthcheck.Within(c.cfg, deadline), c.password, mem)
		obs = c.observe(r, boot)
		obs.Promoted, obs.PromotedAfterMS = true, time.Since(c.begin).Milliseconds()
		d = agent.Decide(acfg, obs, mem)
		results, _ = c.carryOut(d, r, obs)
	}
	d = agent.Settle(d, results)

	r.Pass, r.Reason, r.Fenced, r.Isolated = d.Pass, d.Message(), d.Fenced, d.Isolated
	r.Code = string(d.Reason.Code)
	r.Stale = nil
	if d.Stale != nil {
		r.Stale = &nodeapi.Stale{Peer: d.Stale.Peer, Timeline: d.Stale.Timeline}
	}
	if !c.keepalived {
		return r, d
	}
	r.Sync, r.Precedence = d.Sync, d.Precedence
	if k := d.Known; k != nil {
		r.Known = &nodeapi.Known{Role: string(k.Role), Timeline: k.Timeline, LSN: k.LSN, At: k.At}
	}
	if d.Keep {
		if err := healthcheck.SaveMemory(c.cfg, d.Memory, mem, migrated); err != nil {
			// The verdict stands; the next run decides from the older record.
			r.Reason += "; agent memory: " + err.Error()
		}
	}
	if d.Gate != nil {
		// Nor one of the promotion gate: an old record refuses promotions.
		if err := healthcheck.WriteGate(c.cfg, d.Gate); err != nil {
			r.Reason += "; promotion gate: " + err.Error()
		}
	}
	r.DurationMS = float64(time.Since(c.begin).Microseconds()) / 1000
	// A state file that cannot be written must not change the verdict.
	_ = healthcheck.WriteState(c.cfg.StatePath, r)
	c.startMetrics()
	return r, d
}

// observe completes the observation of report r: the fencing in force,
// and, in keepalived's runs, the port fence, the VIP, a standby's repmgrd and
// (fenced) whether its WAL receiver streams.
func (c *cycle) observe(r nodeapi.Report, boot string) agent.Observation {
	obs := agent.Observation{Keepalived: c.keepalived, Begin: c.begin, Boot: boot}
	obs.Local, obs.Peers, obs.Witness = r.Observed()
	if fence, err := healthcheck.ReadFence(c.cfg.FencePath); err != nil {
		// A fence record that cannot be read still fences: fail closed.
		obs.Fence = &agent.Fence{Reason: "fence record unreadable: " + err.Error()}
	} else if fence != nil {
		obs.Fence = &agent.Fence{At: fence.At, Reason: fence.Reason}
	}
	if !c.keepalived {
		obs.Now = time.Now()
		return obs
	}
	if pf := healthcheck.PortClosed(c.cfg); pf != nil {
		obs.PortClosed = &agent.PortFence{At: pf.At, Port: pf.Port, Reason: pf.Reason}
	}
	obs.VIPHeld = c.cfg.VIP != "" && healthcheck.HasLocalAddr(c.cfg.VIP)
	// An unreadable record is left to its timer, haup status and apply.
	if p, err := healthcheck.ReadPause(c.cfg.PauseFile()); err == nil && p != nil {
		obs.Pause = &agent.Pause{Kind: p.Kind, At: p.At, Until: p.Until}
		if obs.Pause.Kind == "" {
			obs.Pause.Kind = nodeapi.PauseSwitchover
		}
	}
	// An unreadable handover is none: the node gives the VIP up.
	if h, err := healthcheck.ReadHandover(c.cfg); err == nil && h != nil {
		obs.Handover = &agent.Handover{At: h.At, Until: h.Until}
	}
	if r.Role != nodeapi.RolePrimary {
		// An unreadable record is none: the gate starts from refusal.
		obs.Gate, _ = healthcheck.LastGate(c.cfg)
	}
	if r.Role == nodeapi.RoleStandby {
		deadline := c.begin.Add(time.Duration(c.cfg.DeadlineMillis) * time.Millisecond)
		if time.Until(deadline) > 100*time.Millisecond {
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			if st, paused, err := healthcheck.ReadRepmgrd(ctx, c.cfg, c.password, nodeapi.RepmgrDatabase); err == nil {
				a := st.Agent(paused)
				obs.Repmgrd = &a
			}
			cancel()
		}
		if obs.Fence != nil {
			ctx, cancel := c.bound(agent.Action{})
			obs.Streaming = healthcheck.WALStreaming(ctx, c.cfg, c.password)
			cancel()
		}
	}
	obs.Now = time.Now()
	return obs
}

// carryOut does d's actions in order, each within the budget. It stops
// at a promotion seen by the watch (true).
func (c *cycle) carryOut(d agent.Decision, r nodeapi.Report, obs agent.Observation) ([]agent.Result, bool) {
	var results []agent.Result
	for _, a := range d.Actions {
		var res agent.Result
		switch a.Kind {
		case agent.ActWatchPromotion:
			ctx, cancel := context.WithDeadline(context.Background(), a.Until)
			promoted, _ := healthcheck.AwaitPromotion(ctx, c.cfg, c.password, obs.Repmgrd)
			cancel()
			if promoted {
				return results, true
			}
		case agent.ActFenceVIPHolder:
			// In a detached process, so the verdict is not delayed.
			if self, err := os.Executable(); err == nil {
				cmd := exec.Command(self, "fence-vip", "-config", c.configPath)
				cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
				if cmd.Start() == nil {
					cmd.Process.Release()
				}
			}
		default:
			ctx, cancel := c.bound(a)
			res = healthcheck.Do(ctx, c.sys, c.cfg, c.password, r, a)
			cancel()
			if a.Kind == agent.ActResetRepmgrd {
				if line := agent.ResetLine(a, res); line != "" {
					exec.Command("logger", "-t", "haup-check", line).Run()
				}
			}
			if a.Kind == agent.ActEndPause && res.OK() && a.Pause != nil {
				exec.Command("logger", "-t", "haup-check", "repmgrd's failover resumed: its "+a.Pause.Kind+" pause ran out at "+
					a.Pause.Until.UTC().Format(time.RFC3339)+" and its timer had not resumed it").Run()
			}
		}
		results = append(results, res)
	}
	return results, false
}

// bound is a's context: until the budget's end (minActionTime at least),
// and a's own limits.
func (c *cycle) bound(a agent.Action) (context.Context, context.CancelFunc) {
	now := time.Now()
	end := c.end
	if floor := now.Add(minActionTime); end.Before(floor) {
		end = floor
	}
	if a.Limit > 0 && now.Add(a.Limit).Before(end) {
		end = now.Add(a.Limit)
	}
	if !a.Until.IsZero() && a.Until.Before(end) {
		end = a.Until
	}
	return context.WithDeadline(context.Background(), end)
}
