package agent

import (
	"testing"
	"time"
)

// The promotion gate's rules, one run at a time: what the last record said,
// what this run saw, and what the new record says.

func streamingStandby(receive, receiver string) Local {
	l := standby(2)
	l.ReceiveLSN, l.Receiver = receive, receiver
	return l
}

func livePrimaryPeer(lsn, names string) Peer {
	p := peer("pg-1", RolePrimary, 2)
	p.LSN, p.SyncNames = lsn, names
	return p
}

// lastGate is a record published by the run before, at t0 minus ago.
func lastGate(ago time.Duration, boot string, e Eligibility) *Gate {
	return &Gate{Version: GateVersion, Node: "pg-0", Boot: boot, At: t0.Add(-ago), State: e}
}

func TestEligibility(t *testing.T) {
	zl := base
	zl.Synchronous = true
	async := base
	async.MaxLag = MaxLag{Bytes: 1 << 20, Seconds: 10}
	eligible := Eligibility{Eligible: true, Code: GateEligible, Since: t0.Add(-time.Minute), Receiver: "77@1", PendingLSN: "0/5000000", StreamedAt: t0.Add(-time.Second)}
	cases := []struct {
		name string
		cfg  Config
		obs  Observation
		want Code
		ok   bool
		// check looks further at the record.
		check func(t *testing.T, g *Gate)
	}{
		{name: "zero-loss: first sight, in sync: pending", cfg: zl,
			obs:  seen(streamingStandby("0/5000000", "77@1"), livePrimaryPeer("0/5000100", SyncNames)),
			want: GateCatchingUp,
			check: func(t *testing.T, g *Gate) {
				if g.State.PendingLSN != "0/5000100" || g.Mode != "zero-loss" {
					t.Errorf("%+v", g)
				}
			}},
		{name: "zero-loss: received what was pending: eligible", cfg: zl,
			obs:  withGate(seen(streamingStandby("0/5000100", "77@1"), livePrimaryPeer("0/5000200", SyncNames)), lastGate(time.Second, "boot-1", Eligibility{Code: GateCatchingUp, Receiver: "77@1", PendingLSN: "0/5000100"})),
			want: GateEligible, ok: true},
		{name: "zero-loss: not yet received what was pending", cfg: zl,
			obs:  withGate(seen(streamingStandby("0/5000000", "77@1"), livePrimaryPeer("0/5000200", SyncNames)), lastGate(time.Second, "boot-1", Eligibility{Code: GateCatchingUp, Receiver: "77@1", PendingLSN: "0/5000100"})),
			want: GateCatchingUp},
		{name: "zero-loss: eligible stays while in sync", cfg: zl,
			obs:  withGate(seen(streamingStandby("0/5000100", "77@1"), livePrimaryPeer("0/5000200", SyncNames)), lastGate(time.Second, "boot-1", eligible)),
			want: GateEligible, ok: true,
			check: func(t *testing.T, g *Gate) {
				if !g.Since.Equal(eligible.Since) {
					t.Errorf("since moved: %v", g.Since)
				}
			}},
		{name: "zero-loss: the primary does not wait for standbys", cfg: zl,
			obs:  withGate(seen(streamingStandby("0/5000100", "77@1"), livePrimaryPeer("0/5000200", "")), lastGate(time.Second, "boot-1", eligible)),
			want: GateSuspended},
		{name: "its database down", cfg: zl,
			obs:  withGate(seen(down(FaultRefused, "connection refused")), lastGate(time.Second, "boot-1", eligible)),
			want: GateLocalDown},
		{name: "not streaming while the primary answers", cfg: zl,
			obs:  withGate(seen(standby(2), livePrimaryPeer("0/5000200", SyncNames)), lastGate(time.Second, "boot-1", eligible)),
			want: GateOutOfSync},
		{name: "a primary whose database refuses is not writing", cfg: zl,
			obs:  withGate(seen(standby(2), refusedPeer("pg-1")), lastGate(time.Second, "boot-1", eligible)),
			want: GateEligible, ok: true},
		{name: "not streaming, the primary silent (a failover): eligible stays", cfg: zl,
			obs:  withGate(seen(standby(2), silentPeer("pg-1")), lastGate(time.Second, "boot-1", eligible)),
			want: GateEligible, ok: true},
		{name: "not observed for 4 s", cfg: zl,
			obs:  withGate(seen(standby(2), silentPeer("pg-1")), lastGate(4*time.Second, "boot-1", eligible)),
			want: GateUnobserved},
		{name: "the host restarted", cfg: zl,
			obs:  withGate(seen(standby(2), silentPeer("pg-1")), lastGate(time.Second, "boot-0", eligible)),
			want: GateUnobserved},
		{name: "a new WAL receiver session", cfg: zl,
			obs:  withGate(seen(streamingStandby("0/5000100", "78@1"), livePrimaryPeer("0/5000200", SyncNames)), lastGate(time.Second, "boot-1", eligible)),
			want: GateNewSession,
			check: func(t *testing.T, g *Gate) {
				if g.State.Receiver != "78@1" || g.State.PendingLSN != "0/5000200" {
					t.Errorf("%+v", g.State)
				}
			}},
		{name: "another node's record is not this one's", cfg: zl,
			obs:  withGate(seen(standby(2), silentPeer("pg-1")), func() *Gate { g := lastGate(time.Second, "boot-1", eligible); g.Node = "pg-1"; return g }()),
			want: GateNeverConfirmed},
		{name: "async: streaming within the bound", cfg: async,
			obs:  seen(streamingStandby("0/5000000", "77@1"), livePrimaryPeer("0/5010000", "")),
			want: GateEligible, ok: true,
			check: func(t *testing.T, g *Gate) {
				if g.LagBytes != 0x10000 || g.Mode != "async" || *g.MaxLag != async.MaxLag {
					t.Errorf("%+v", g)
				}
			}},
		{name: "async: too far behind", cfg: async,
			obs:  seen(streamingStandby("0/5000000", "77@1"), livePrimaryPeer("0/6000000", "")),
			want: GateLagBytes},
		{name: "async: never streamed", cfg: async,
			obs:  seen(standby(2), silentPeer("pg-1")),
			want: GateNeverConfirmed},
		{name: "async: the primary wrote without it for 5 s", cfg: async,
			obs:  withGate(seen(standby(2), livePrimaryPeer("0/6000000", "")), lastGate(time.Second, "boot-1", Eligibility{Eligible: true, StreamedAt: t0.Add(-5 * time.Second)})),
			want: GateEligible, ok: true,
			check: func(t *testing.T, g *Gate) {
				if g.WindowS < 5 || g.WindowS > 5.1 {
					t.Errorf("window %v", g.WindowS)
				}
			}},
		{name: "async: for 12 s", cfg: async,
			obs:  withGate(seen(standby(2), livePrimaryPeer("0/6000000", "")), lastGate(time.Second, "boot-1", Eligibility{Eligible: true, StreamedAt: t0.Add(-12 * time.Second)})),
			want: GateLagSeconds},
		{name: "async: its database down for 12 s", cfg: async,
			obs:  withGate(seen(down(FaultRefused, "connection refused")), lastGate(time.Second, "boot-1", Eligibility{Eligible: true, StreamedAt: t0.Add(-12 * time.Second)})),
			want: GateLagSeconds},
		{name: "async: the primary silent 4 s after it streamed (a failover): within", cfg: async,
			obs:  withGate(seen(standby(2), silentPeer("pg-1")), lastGate(time.Second, "boot-1", Eligibility{Eligible: true, Code: GateEligible, StreamedAt: t0.Add(-4 * time.Second)})),
			want: GateEligible, ok: true},
		{name: "async: the primary silent for 30 s (a cut: it may be writing)", cfg: async,
			obs:  withGate(seen(standby(2), silentPeer("pg-1")), lastGate(time.Second, "boot-1", Eligibility{Eligible: true, Code: GateEligible, StreamedAt: t0.Add(-30 * time.Second)})),
			want: GateLagSeconds},
		{name: "async: unobserved for a minute: the primary may have written", cfg: async,
			obs:  withGate(seen(standby(2), silentPeer("pg-1")), lastGate(time.Minute, "boot-1", Eligibility{Eligible: true, Code: GateEligible, StreamedAt: t0.Add(-61 * time.Second)})),
			want: GateLagSeconds},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.cfg, c.obs, remembered())
			g := d.Gate
			if g == nil {
				t.Fatal("no gate record")
			}
			if g.Code != c.want || g.Eligible != c.ok || g.State.Code != c.want {
				t.Errorf("code %s eligible %v, want %s %v (%s)", g.Code, g.Eligible, c.want, c.ok, g.Reason)
			}
			if g.At != c.obs.Now || g.Boot != "boot-1" || g.Node != "pg-0" {
				t.Errorf("record %+v", g)
			}
			// The gate reads it the same way just after.
			ok, code, _ := g.Allows(c.obs.Now.Add(time.Second), nil)
			if ok != c.ok || code != c.want {
				t.Errorf("Allows = %v %s", ok, code)
			}
			if c.check != nil {
				c.check(t, g)
			}
		})
	}
}

func withGate(o Observation, g *Gate) Observation { o.Gate = g; return o }

func TestEligibilityNotOnAPrimaryNorReadOnlyRuns(t *testing.T) {
	if d := Decide(base, seen(primary(2)), remembered()); d.Gate != nil {
		t.Errorf("a primary publishes %+v", d.Gate)
	}
	o := seen(standby(2))
	o.Keepalived = false
	if d := Decide(base, o, remembered()); d.Gate != nil {
		t.Errorf("a run by a person publishes %+v", d.Gate)
	}
	bad := remembered()
	bad.Problem = "garbage"
	if d := Decide(base, seen(standby(2)), bad); d.Gate == nil || d.Gate.Eligible || d.Gate.Code != CodeMemoryUnreadable {
		t.Errorf("unreadable memory: %+v", d.Gate)
	}
}

func TestGateAllows(t *testing.T) {
	g := &Gate{Boot: "b", At: t0, Eligible: true, Code: GateEligible, Reason: "in sync"}
	cases := []struct {
		name string
		g    *Gate
		now  time.Time
		o    *Override
		ok   bool
		code Code
	}{
		{"fresh and eligible", g, t0.Add(time.Second), nil, true, GateEligible},
		{"no record", nil, t0, nil, false, GateNoRecord},
		{"4 s old", g, t0.Add(4 * time.Second), nil, false, GateStale},
		{"from the future", g, t0.Add(-4 * time.Second), nil, false, GateStale},
		{"an override", nil, t0, &Override{Until: t0.Add(time.Minute), By: "haup promote"}, true, GateOverride},
		{"an expired override", nil, t0.Add(time.Hour), &Override{Until: t0.Add(time.Minute)}, false, GateNoRecord},
	}
	for _, c := range cases {
		ok, code, msg := c.g.Allows(c.now, c.o)
		if ok != c.ok || code != c.code || msg == "" {
			t.Errorf("%s: %v %s %q", c.name, ok, code, msg)
		}
	}
}

func TestParseLSN(t *testing.T) {
	for s, want := range map[string]uint64{"0/0": 0, "16/B374D848": 0x16B374D848, "FFFFFFFF/FFFFFFFF": 1<<64 - 1} {
		if got, ok := ParseLSN(s); !ok || got != want {
			t.Errorf("%s: %x %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "0", "0/", "/0", "0/0/0", "x/0", "0/0 ", "1FFFFFFFF/0"} {
		if _, ok := ParseLSN(s); ok {
			t.Errorf("%q parsed", s)
		}
	}
}
