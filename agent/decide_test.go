package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// The tests build what a run saw and what the agent remembers, run Decide
// (and Settle with the actions' outcomes), and look at the verdict, the
// reason's code and the actions: no database, no clock.

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

var base = Config{Node: "pg-0", Port: 5432, DeadlineMillis: 800, RepmgrdStaleS: 5, MemoryPath: "/var/lib/haup/agent.json"}

func primary(tl int) Local {
	return Local{Role: RolePrimary, Timeline: tl, LSN: "0/3000060", At: t0}
}

func standby(tl int) Local { return Local{Role: RoleStandby, Timeline: tl, LSN: "0/3000060", At: t0} }

func down(f Fault, msg string) Local { return Local{Role: RoleDown, Fault: f, Error: msg, At: t0} }

func peer(name string, role Role, tl int) Peer {
	return Peer{Name: name, Role: role, Timeline: tl, Seen: true}
}

func silentPeer(name string) Peer { return Peer{Name: name, Role: RoleDown, Fault: FaultTimeout} }

func refusedPeer(name string) Peer {
	return Peer{Name: name, Role: RoleDown, Fault: FaultRefused, Seen: true}
}

func seen(local Local, peers ...Peer) Observation {
	return Observation{Keepalived: true, Begin: t0, Now: t0.Add(20 * time.Millisecond), Boot: "boot-1", Local: local, Peers: peers}
}

func remembered() Memory { return Memory{Version: MemoryVersion, Boot: "boot-1"} }

func kinds(d Decision) []Kind {
	var out []Kind
	for _, a := range d.Actions {
		out = append(out, a.Kind)
	}
	return out
}

// ok is every action succeeding.
func ok(d Decision) []Result {
	out := make([]Result, len(d.Actions))
	for i := range out {
		out[i].At = t0.Add(time.Second)
	}
	return out
}

// failing is every action failing with msg.
func failing(d Decision, msg string) []Result {
	out := make([]Result, len(d.Actions))
	for i := range out {
		out[i].Err = msg
	}
	return out
}

type rule struct {
	name    string
	cfg     func(*Config)
	obs     Observation
	mem     Memory
	pass    bool
	code    Code
	actions []Kind
	// settle, when set, is given to Settle; then message and check apply
	// to the settled decision.
	settle  func(Decision) []Result
	message string
	check   func(*testing.T, Decision)
}

func (c rule) run(t *testing.T) {
	t.Helper()
	cfg := base
	if c.cfg != nil {
		c.cfg(&cfg)
	}
	mem := c.mem
	if mem.Version == 0 && mem.Problem == "" {
		mem = remembered()
	}
	d := Decide(cfg, c.obs, mem)
	if d.Pass != c.pass || d.Reason.Code != c.code {
		t.Errorf("pass %v code %s, want pass %v code %s (%s)", d.Pass, d.Reason.Code, c.pass, c.code, d.Message())
	}
	if got := kinds(d); !reflect.DeepEqual(got, c.actions) {
		t.Errorf("actions %v, want %v", got, c.actions)
	}
	if c.settle != nil {
		d = Settle(d, c.settle(d))
	}
	if c.message != "" && d.Message() != c.message {
		t.Errorf("message\n got %q\nwant %q", d.Message(), c.message)
	}
	if c.check != nil {
		c.check(t, d)
	}
}

func runRules(t *testing.T, rules []rule) {
	for _, c := range rules {
		t.Run(c.name, c.run)
	}
}

func TestVerdict(t *testing.T) {
	withWitness := func(c *Config) { c.Witness = "wit-9" }
	readOnly := primary(1)
	readOnly.ReadOnly = true
	isolated := seen(primary(1), silentPeer("pg-1"))
	isolated.Witness = &Witness{Name: "wit-9"}
	witnessSeen := isolated
	witnessSeen.Witness = &Witness{Name: "wit-9", Seen: true}
	peerRefused := seen(primary(1), refusedPeer("pg-1"))
	peerRefused.Witness = &Witness{Name: "wit-9"}
	runRules(t, []rule{
		{name: "pass: the writable primary with its standby", obs: seen(primary(1), peer("pg-1", RoleStandby, 1)),
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}, message: "primary on timeline 1",
			check: func(t *testing.T, d Decision) {
				if d.Sync != SyncOff || !d.Keep || d.Memory.Known == nil || d.Memory.Known.Timeline != 1 || d.Known == nil {
					t.Errorf("sync %q keep %v known %+v", d.Sync, d.Keep, d.Memory.Known)
				}
			}},
		{name: "pass: a peer that does not answer does not count against it", obs: seen(primary(2), silentPeer("pg-1")),
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
		{name: "local database down", obs: seen(down(FaultRefused, "connection refused"), silentPeer("pg-1")),
			code: CodeLocalDown, actions: []Kind{ActWritePrecedence}, message: "local database: connection refused"},
		{name: "standby", obs: seen(standby(1), peer("pg-1", RolePrimary, 1)),
			code: CodeStandby, actions: []Kind{ActWatchPromotion, ActWritePrecedence}, message: "local database is a standby (in recovery)"},
		{name: "split brain on the same timeline: neither passes, nobody is fenced", obs: seen(primary(2), peer("pg-1", RolePrimary, 2)),
			code: CodeSplitBrain, actions: []Kind{ActWritePrecedence},
			message: "split brain: peer pg-1 is also a primary on timeline 2; neither may hold the VIP"},
		{name: "a peer primary on an older timeline is the stale one", obs: seen(primary(3), peer("pg-1", RolePrimary, 2)),
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
		{name: "read-only primary", obs: seen(readOnly), code: CodeReadOnly, actions: []Kind{ActWritePrecedence},
			message: "primary on timeline 1 refuses writes (default_transaction_read_only is on): fenced"},
		{name: "isolated: sees neither peer nor witness", cfg: withWitness, obs: isolated, code: CodeIsolated, actions: []Kind{ActWritePrecedence},
			message: "isolated: primary on timeline 1 sees neither its peers nor the witness wit-9 on the network; it gives up the VIP and refuses writes"},
		{name: "not isolated: the witness answers", cfg: withWitness, obs: witnessSeen, pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
		{name: "not isolated: the peer's host refuses (it is there)", cfg: withWitness, obs: peerRefused, pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
		{name: "without a witness nobody seen is no isolation", obs: isolated, pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
	})
}

func TestStaleFence(t *testing.T) {
	stale := seen(primary(1), peer("pg-1", RolePrimary, 2))
	msg := "split brain: peer pg-1 is a primary on newer timeline 2 (ours 1); this primary is stale"
	runRules(t, []rule{
		{name: "stale primary fenced", obs: stale, code: CodeStale, actions: []Kind{ActFenceStale, ActWritePrecedence},
			settle: ok, message: msg + "; fenced: writes refused, rejoin started",
			check: func(t *testing.T, d Decision) {
				if a := d.Actions[0]; a.Reason != msg || *a.Stale != (Stale{"pg-1", 2}) || a.Limit != 800*time.Millisecond || !d.Fenced {
					t.Errorf("fence action %+v fenced %v", a, d.Fenced)
				}
			}},
		{name: "fencing fails: said, still fenced", obs: stale, code: CodeStale, actions: []Kind{ActFenceStale, ActWritePrecedence},
			settle:  func(d Decision) []Result { return failing(d, "refuse writes: timed out") },
			message: msg + "; fencing: refuse writes: timed out",
			check: func(t *testing.T, d Decision) {
				if !d.Fenced || d.Precedence != 0 {
					t.Errorf("fenced %v precedence %d", d.Fenced, d.Precedence)
				}
			}},
		{name: "not keepalived's run: the verdict only", obs: func() Observation { o := stale; o.Keepalived = false; return o }(),
			code: CodeStale, actions: nil, check: func(t *testing.T, d Decision) {
				if d.Keep || d.Known != nil {
					t.Errorf("a run by a person remembers: keep %v known %v", d.Keep, d.Known)
				}
			}},
	})
}

func TestFenceInForce(t *testing.T) {
	fence := &Fence{At: t0.Add(-time.Hour), Reason: "split brain"}
	fenced := func(o Observation) Observation { o.Fence = fence; return o }
	streaming := fenced(seen(standby(2), peer("pg-1", RolePrimary, 2)))
	streaming.Streaming = true
	streaming.Repmgrd = &Repmgrd{Running: true, UpstreamLastSeenS: 0, WALReceiver: "streaming"}
	notStreaming := streaming
	notStreaming.Streaming = false
	unreadable := seen(primary(1))
	unreadable.Fence = &Fence{Reason: "fence record unreadable: permission denied"}
	person := fenced(seen(primary(1)))
	person.Keepalived = false
	runRules(t, []rule{
		{name: "a fenced primary does not pass", obs: fenced(seen(primary(1))), code: CodeFenced, actions: []Kind{ActWritePrecedence},
			message: "fenced since 2026-12-04T11:00:00Z (split brain): this node may not hold the VIP until it streams as a standby",
			check: func(t *testing.T, d Decision) {
				if !d.Fenced {
					t.Error("not fenced")
				}
			}},
		{name: "an unreadable fence record fences", obs: unreadable, code: CodeFenced, actions: []Kind{ActWritePrecedence},
			message: "fenced since 0001-01-01T00:00:00Z (fence record unreadable: permission denied): this node may not hold the VIP until it streams as a standby"},
		{name: "a person's run sees the fence too", obs: person, code: CodeFenced},
		{name: "a standby that streams clears it", obs: streaming, code: CodeStandby, actions: []Kind{ActClearFence, ActWritePrecedence},
			settle: func(d Decision) []Result { r := ok(d); r[0].Done = true; return r },
			check: func(t *testing.T, d Decision) {
				if d.Fenced {
					t.Error("still fenced once cleared")
				}
			}},
		{name: "a clearing that did not happen leaves it", obs: streaming, code: CodeStandby, actions: []Kind{ActClearFence, ActWritePrecedence},
			settle: ok, check: func(t *testing.T, d Decision) {
				if !d.Fenced {
					t.Error("not fenced")
				}
			}},
		{name: "a standby that does not stream stays fenced", obs: notStreaming, code: CodeStandby, actions: []Kind{ActWritePrecedence}},
	})
}

func TestFrozenPrimary(t *testing.T) {
	frozen := seen(down(FaultTimeout, "timed out"), peer("pg-1", RolePrimary, 3))
	wasPrimary := remembered()
	wasPrimary.Known = &Known{Role: RolePrimary, Timeline: 2, LSN: "0/5000000", At: t0.Add(-time.Second)}
	wasStandby := remembered()
	wasStandby.Known = &Known{Role: RoleStandby, Timeline: 2}
	otherBoot := wasPrimary
	otherBoot.Boot = "boot-0"
	refused := frozen
	refused.Local = down(FaultRefused, "connection refused")
	peerSilent := seen(down(FaultTimeout, "timed out"), silentPeer("pg-1"))
	reason := "stale primary on timeline 2, its database not answering, while pg-1 is primary on timeline 3"
	runRules(t, []rule{
		{name: "frozen stale primary fenced from outside", obs: frozen, mem: wasPrimary, code: CodeLocalDown,
			actions: []Kind{ActFenceFrozen, ActWritePrecedence}, settle: ok,
			message: "local database: timed out; fenced from outside: its port closed, rejoin started",
			check: func(t *testing.T, d Decision) {
				a := d.Actions[0]
				if a.Reason != reason || a.Known.LSN != "0/5000000" || *d.Stale != (Stale{"pg-1", 3}) || !d.Fenced || a.Limit != 2*time.Second {
					t.Errorf("action %+v stale %+v", a, d.Stale)
				}
				if d.Memory.Known == nil || d.Memory.Known.Timeline != 2 {
					t.Errorf("the last answer is not carried over: %+v", d.Memory.Known)
				}
			}},
		{name: "its fencing fails", obs: frozen, mem: wasPrimary, code: CodeLocalDown, actions: []Kind{ActFenceFrozen, ActWritePrecedence},
			settle:  func(d Decision) []Result { return failing(d, "close port 5432: iptables: no lock") },
			message: "local database: timed out; fencing: close port 5432: iptables: no lock"},
		{name: "refused is down, not frozen", obs: refused, mem: wasPrimary, code: CodeLocalDown, actions: []Kind{ActWritePrecedence}},
		{name: "last answered as a standby", obs: frozen, mem: wasStandby, code: CodeLocalDown, actions: []Kind{ActWritePrecedence}},
		{name: "nothing known", obs: frozen, code: CodeLocalDown, actions: []Kind{ActWritePrecedence}},
		{name: "known from before a reboot is forgotten", obs: frozen, mem: otherBoot, code: CodeLocalDown, actions: []Kind{ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if d.Memory.Known != nil || d.Memory.Boot != "boot-1" {
					t.Errorf("memory %+v", d.Memory)
				}
			}},
		{name: "no newer primary answers", obs: peerSilent, mem: wasPrimary, code: CodeLocalDown, actions: []Kind{ActWritePrecedence}},
	})
}

func TestPortFence(t *testing.T) {
	pf := &PortFence{At: t0.Add(-time.Minute), Port: 5432, Reason: "stale primary"}
	closed := func(o Observation, fenced bool) Observation {
		o.PortClosed = pf
		if fenced {
			o.Fence = &Fence{At: t0.Add(-time.Minute), Reason: "stale primary"}
		}
		return o
	}
	runRules(t, []rule{
		{name: "fenced, not a standby: the port stays closed", obs: closed(seen(down(FaultRefused, "connection refused")), true),
			code: CodeLocalDown, actions: []Kind{ActClosePort, ActWritePrecedence}, settle: ok,
			message: "local database: connection refused; port 5432 closed since 2026-12-04T11:59:00Z (stale primary)",
			check: func(t *testing.T, d Decision) {
				if d.Actions[0].Reason != "stale primary" {
					t.Errorf("close port %+v", d.Actions[0])
				}
			}},
		{name: "the rules cannot be put back: said before the port", obs: closed(seen(down(FaultRefused, "connection refused")), true),
			code: CodeLocalDown, actions: []Kind{ActClosePort, ActWritePrecedence}, settle: func(d Decision) []Result { return failing(d, "xtables lock") },
			message: "local database: connection refused; port fence: xtables lock; port 5432 closed since 2026-12-04T11:59:00Z (stale primary)"},
		{name: "a standby again: the port opens", obs: closed(seen(standby(3), peer("pg-1", RolePrimary, 3)), true),
			code: CodeStandby, actions: []Kind{ActOpenPort, ActWritePrecedence}, cfg: func(c *Config) { c.DeadlineMillis = 100 }},
		{name: "no fencing in force: the port opens", obs: closed(seen(down(FaultRefused, "connection refused")), false),
			code: CodeLocalDown, actions: []Kind{ActOpenPort, ActWritePrecedence},
			settle: func(d Decision) []Result { return failing(d, "iptables: no lock") }, message: "local database: connection refused; opening port: iptables: no lock"},
		{name: "a stale primary fenced in this run keeps it closed", obs: closed(seen(primary(2), peer("pg-1", RolePrimary, 3)), false),
			code: CodeStale, actions: []Kind{ActFenceStale, ActClosePort, ActWritePrecedence}},
	})
}

func TestIsolation(t *testing.T) {
	withWitness := func(c *Config) { c.Witness = "wit-9" }
	isolated := seen(primary(1), silentPeer("pg-1"))
	isolated.Witness = &Witness{Name: "wit-9"}
	once := remembered()
	once.Isolation = &Isolation{Since: t0.Add(-time.Second), Checks: 1, Timeline: 1}
	fencedAt := t0.Add(-time.Minute)
	refusing := remembered()
	refusing.Isolation = &Isolation{Since: t0.Add(-2 * time.Minute), Checks: 9, Fenced: true, FencedAt: fencedAt, Timeline: 1}
	notYet := remembered()
	notYet.Isolation = &Isolation{Since: t0.Add(-time.Second), Checks: 1, Timeline: 1}
	witnessBack := isolated
	witnessBack.Witness = &Witness{Name: "wit-9", Seen: true}
	standbyBack := seen(primary(1), peer("pg-1", RoleStandby, 1))
	standbyBack.Witness = &Witness{Name: "wit-9", Seen: true}
	msg := "isolated: primary on timeline 1 sees neither its peers nor the witness wit-9 on the network; it gives up the VIP and refuses writes"
	runRules(t, []rule{
		{name: "first isolated run: fails, counts, writes still taken", cfg: withWitness, obs: isolated,
			code: CodeIsolated, actions: []Kind{ActWritePrecedence}, message: msg,
			check: func(t *testing.T, d Decision) {
				if i := d.Memory.Isolation; i == nil || i.Checks != 1 || i.Fenced || !i.Since.Equal(t0.Add(20*time.Millisecond)) || i.Timeline != 1 {
					t.Errorf("record %+v", i)
				}
			}},
		{name: "second isolated run: steps down", cfg: withWitness, obs: isolated, mem: once,
			code: CodeIsolated, actions: []Kind{ActRefuseWrites, ActWritePrecedence}, settle: ok,
			message: msg + "; writes refused since 2026-12-04T12:00:01Z",
			check: func(t *testing.T, d Decision) {
				if i := d.Memory.Isolation; i == nil || !i.Fenced || i.Checks != 2 || !i.FencedAt.Equal(t0.Add(time.Second)) {
					t.Errorf("record %+v", i)
				}
			}},
		{name: "stepping down fails: tried again next run", cfg: withWitness, obs: isolated, mem: once,
			code: CodeIsolated, actions: []Kind{ActRefuseWrites, ActWritePrecedence}, settle: func(d Decision) []Result { return failing(d, "timed out") },
			message: msg + "; refusing writes failed: timed out",
			check: func(t *testing.T, d Decision) {
				if i := d.Memory.Isolation; i == nil || i.Fenced {
					t.Errorf("record %+v", i)
				}
			}},
		{name: "still isolated, already refusing", cfg: withWitness, obs: isolated, mem: refusing,
			code: CodeIsolated, actions: []Kind{ActWritePrecedence}, message: msg + "; writes refused since 2026-12-04T11:59:00Z"},
		{name: "the witness alone back: writes stay refused", cfg: withWitness, obs: witnessBack, mem: refusing,
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence},
			message: "primary on timeline 1; writes refused since 2026-12-04T11:59:00Z (isolated); they come back once a peer answers as a standby"},
		{name: "a standby answers: writes come back", cfg: withWitness, obs: standbyBack, mem: refusing,
			pass: true, code: CodePrimary, actions: []Kind{ActLiftIsolation, ActWritePrecedence}, settle: ok,
			message: "primary on timeline 1; isolation over (a standby answers): writes allowed again",
			check: func(t *testing.T, d Decision) {
				if d.Memory.Isolation != nil {
					t.Errorf("record kept: %+v", d.Memory.Isolation)
				}
			}},
		{name: "lifting fails: the record stays", cfg: withWitness, obs: standbyBack, mem: refusing,
			pass: true, code: CodePrimary, actions: []Kind{ActLiftIsolation, ActWritePrecedence},
			settle:  func(d Decision) []Result { return failing(d, "timed out") },
			message: "primary on timeline 1; lifting the isolation fence: timed out",
			check: func(t *testing.T, d Decision) {
				if d.Memory.Isolation == nil {
					t.Error("record dropped")
				}
			}},
		{name: "the witness removed meanwhile: lifted all the same", obs: standbyBack, mem: refusing,
			pass: true, code: CodePrimary, actions: []Kind{ActLiftIsolation, ActWritePrecedence}},
		{name: "seen again before stepping down: the count goes", cfg: withWitness, obs: witnessBack, mem: notYet,
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if d.Memory.Isolation != nil {
					t.Errorf("record kept: %+v", d.Memory.Isolation)
				}
			}},
		{name: "now a standby: the record goes", cfg: withWitness, obs: seen(standby(2), peer("pg-1", RolePrimary, 2)), mem: refusing,
			code: CodeStandby, actions: []Kind{ActWatchPromotion, ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if d.Memory.Isolation != nil {
					t.Errorf("record kept: %+v", d.Memory.Isolation)
				}
			}},
	})
}

func TestPrecedence(t *testing.T) {
	cfg := base
	promoted := seen(primary(2), silentPeer("pg-1"))
	mem := remembered()
	mem.Peers = map[string]PeerMemory{"pg-1": {Timeline: 1}}
	for i := 1; i <= precedenceChecks+1; i++ {
		d := Settle(Decide(cfg, promoted, mem), nil)
		a := d.Actions[len(d.Actions)-1]
		want := 0
		if i >= precedenceChecks {
			want = 1
		}
		if a.Kind != ActWritePrecedence || a.Precedence != want {
			t.Fatalf("run %d: %+v, want precedence %d", i, a, want)
		}
		if p := d.Memory.Peers["pg-1"]; p != (PeerMemory{Timeline: 1, Silent: true}) {
			t.Fatalf("run %d: peer record %+v", i, p)
		}
		mem = d.Memory
	}
	if mem.Passing != precedenceChecks {
		t.Errorf("passing %d", mem.Passing)
	}
	// Written: the report says so; not written: 0.
	d := Decide(cfg, promoted, mem)
	if s := Settle(d, ok(d)); s.Precedence != 1 {
		t.Errorf("written: %d", s.Precedence)
	}
	if s := Settle(d, failing(d, "read-only file system")); s.Precedence != 0 {
		t.Errorf("not written: %d", s.Precedence)
	}
	// The old primary answers again, as a standby of ours: the record
	// follows, the count goes.
	d = Decide(cfg, seen(primary(2), peer("pg-1", RoleStandby, 2)), mem)
	if a := d.Actions[len(d.Actions)-1]; a.Precedence != 0 || d.Memory.Passing != 0 || d.Memory.Peers["pg-1"] != (PeerMemory{Timeline: 2}) {
		t.Errorf("after the peer answered: %+v, memory %+v", a, d.Memory)
	}
	for _, c := range []struct {
		name string
		obs  Observation
		mem  map[string]PeerMemory
	}{
		{"primary with its standby streaming", seen(primary(1), peer("pg-1", RoleStandby, 1)), nil},
		{"old primary cut off, standby last seen on its timeline", seen(primary(1), silentPeer("pg-1")), map[string]PeerMemory{"pg-1": {Timeline: 1}}},
		{"stale primary sees the newer one", seen(primary(1), peer("pg-1", RolePrimary, 2)), map[string]PeerMemory{"pg-1": {Timeline: 1}}},
		{"standby", seen(standby(3)), nil},
		{"failing primary", seen(down(FaultTimeout, "timed out")), nil},
	} {
		m := remembered()
		m.Peers, m.Passing = c.mem, precedenceChecks
		d := Decide(cfg, c.obs, m)
		if a := d.Actions[len(d.Actions)-1]; a.Precedence != 0 || d.Memory.Passing != 0 {
			t.Errorf("%s: %+v passing %d", c.name, a, d.Memory.Passing)
		}
	}
}

func TestZeroLoss(t *testing.T) {
	sync := func(c *Config) { c.Synchronous = true }
	streaming := primary(2)
	streaming.Streaming = 1
	waitingNames := primary(2)
	waitingNames.SyncNames = SyncNames
	seenOn2 := remembered()
	seenOn2.Sync = &SyncMemory{Timeline: 2, StandbySeen: true}
	seenOn1 := remembered()
	seenOn1.Sync = &SyncMemory{Timeline: 1, StandbySeen: true}
	answered2 := remembered()
	answered2.Sync = &SyncMemory{Timeline: 2, StandbySeen: true, Answering: SuspendAfterRuns - 1}
	names := func(want string) func(*testing.T, Decision) {
		return func(t *testing.T, d Decision) {
			for _, a := range d.Actions {
				if a.Kind == ActSetSync && a.Names != want {
					t.Errorf("sets %q, want %q", a.Names, want)
				}
			}
		}
	}
	runRules(t, []rule{
		{name: "a standby streams: commits wait for it", cfg: sync, obs: seen(streaming, peer("pg-1", RoleStandby, 2)),
			pass: true, code: CodePrimary, actions: []Kind{ActSetSync, ActWritePrecedence}, settle: ok,
			check: func(t *testing.T, d Decision) {
				names(SyncNames)(t, d)
				if d.Sync != "on: commits wait until a standby has them" || *d.Memory.Sync != (SyncMemory{Timeline: 2, StandbySeen: true}) {
					t.Errorf("sync %q memory %+v", d.Sync, d.Memory.Sync)
				}
			}},
		{name: "the setting fails: unknown, and the record waits for it", cfg: sync, obs: seen(streaming, peer("pg-1", RoleStandby, 2)),
			pass: true, code: CodePrimary, actions: []Kind{ActSetSync, ActWritePrecedence}, settle: func(d Decision) []Result { return failing(d, "timed out") },
			check: func(t *testing.T, d Decision) {
				if d.Sync != "unknown: timed out" || d.Memory.Sync != nil {
					t.Errorf("sync %q memory %+v", d.Sync, d.Memory.Sync)
				}
			}},
		{name: "already set: nothing to do", cfg: sync, obs: func() Observation { l := streaming; l.SyncNames = SyncNames; return seen(l) }(),
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if !strings.HasPrefix(d.Sync, SyncOn+":") || *d.Memory.Sync != (SyncMemory{Timeline: 2, StandbySeen: true}) {
					t.Errorf("sync %q memory %+v", d.Sync, d.Memory.Sync)
				}
			}},
		{name: "no standby streamed on this timeline: suspended", cfg: sync, obs: seen(primary(2), silentPeer("pg-1")), mem: seenOn1,
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if d.Sync != "suspended: no standby has streamed from this primary on timeline 2; commits are asynchronous until one does" || *d.Memory.Sync != (SyncMemory{Timeline: 2}) {
					t.Errorf("sync %q memory %+v", d.Sync, d.Memory.Sync)
				}
			}},
		{name: "the standby answers but does not stream: commits wait, the runs counted", cfg: sync,
			obs: seen(waitingNames, refusedPeer("pg-1"), peer("pg-2", RoleStandby, 2)), mem: seenOn2,
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if d.Sync != "waiting: the standby answers without streaming (pg-1 database down, pg-2 standby); commits wait, and from its 3rd check in a row go through without it (its promotion gate has seen it by then)" || d.Memory.Sync.Answering != 1 {
					t.Errorf("sync %q memory %+v", d.Sync, d.Memory.Sync)
				}
			}},
		{name: "the standby answers but does not stream, the 3rd run in a row: suspended, haup's setting reset", cfg: sync,
			obs: seen(waitingNames, refusedPeer("pg-1"), peer("pg-2", RoleStandby, 2)), mem: answered2,
			pass: true, code: CodePrimary, actions: []Kind{ActSetSync, ActWritePrecedence}, settle: ok,
			check: func(t *testing.T, d Decision) {
				names("")(t, d)
				if d.Sync != "suspended: the standby does not stream but answers (pg-1 database down, pg-2 standby), so its gate refuses its promotion; commits are asynchronous until it streams" || d.Memory.Sync.Answering != SuspendAfterRuns {
					t.Errorf("sync %q memory %+v", d.Sync, d.Memory.Sync)
				}
			}},
		{name: "the standby streamed and does not answer: commits wait", cfg: sync, obs: seen(primary(2), silentPeer("pg-1")), mem: seenOn2,
			pass: true, code: CodePrimary, actions: []Kind{ActSetSync, ActWritePrecedence}, settle: ok,
			check: func(t *testing.T, d Decision) {
				names(SyncNames)(t, d)
				if d.Sync != "waiting: pg-1 streamed and does not answer: it may be cut off and promoted, so commits wait for it (database.synchronous: false lets them through)" {
					t.Errorf("sync %q", d.Sync)
				}
			}},
		{name: "an answer with an error is not an answer", cfg: sync, obs: seen(primary(2), Peer{Name: "pg-1", Role: RoleDown, Fault: FaultServer, Seen: true}), mem: seenOn2,
			pass: true, code: CodePrimary, actions: []Kind{ActSetSync, ActWritePrecedence}, check: names(SyncNames)},
		{name: "mode off: haup's setting goes", obs: seen(waitingNames), pass: true, code: CodePrimary, actions: []Kind{ActSetSync, ActWritePrecedence},
			settle: ok, check: func(t *testing.T, d Decision) {
				names("")(t, d)
				if d.Sync != SyncOff {
					t.Errorf("sync %q", d.Sync)
				}
			}},
		{name: "mode off: an operator's setting stays", obs: func() Observation { l := primary(2); l.SyncNames = "FIRST 1 (x)"; return seen(l) }(),
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
		{name: "a failing primary is not managed", cfg: sync, obs: seen(primary(2), peer("pg-1", RolePrimary, 2)),
			code: CodeSplitBrain, actions: []Kind{ActWritePrecedence}, check: func(t *testing.T, d Decision) {
				if d.Sync != "" {
					t.Errorf("sync %q", d.Sync)
				}
			}},
	})
}

func TestVIPHolder(t *testing.T) {
	vip := func(c *Config) { c.VIP = true }
	held := seen(primary(1))
	held.VIPHeld = true
	runRules(t, []rule{
		{name: "a passing primary without the VIP has its holder checked", cfg: vip, obs: seen(primary(1)),
			pass: true, code: CodePrimary, actions: []Kind{ActFenceVIPHolder, ActWritePrecedence}},
		{name: "with the VIP: nothing", cfg: vip, obs: held, pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
		{name: "failing: nothing", cfg: vip, obs: seen(standby(1)), code: CodeStandby, actions: []Kind{ActWatchPromotion, ActWritePrecedence}},
	})
}

func TestStandbyDuties(t *testing.T) {
	with := func(st Repmgrd) Observation {
		o := seen(standby(1), peer("pg-1", RolePrimary, 1))
		o.Repmgrd = &st
		return o
	}
	stuck := Repmgrd{Running: true, UpstreamLastSeenS: 7, WALReceiver: "streaming"}
	late := seen(standby(1))
	late.Now = t0.Add(800*time.Millisecond - PromotedReserve - PromotionPoll + time.Millisecond)
	runRules(t, []rule{
		{name: "streaming, repmgrd reached its upstream: no watch", obs: with(Repmgrd{Running: true, UpstreamLastSeenS: 0, WALReceiver: "streaming"}),
			code: CodeStandby, actions: []Kind{ActWritePrecedence}},
		{name: "the WAL receiver stopped: a failover may be under way", obs: with(Repmgrd{Running: true, UpstreamLastSeenS: 1}),
			code: CodeStandby, actions: []Kind{ActWatchPromotion, ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if a := d.Actions[0]; !a.Until.Equal(t0.Add(550*time.Millisecond)) || a.String() != "watch for the promotion until 2026-12-04T12:00:00.55Z" {
					t.Errorf("watch %+v %s", a, a)
				}
			}},
		{name: "repmgrd unknown: watched", obs: seen(standby(1)), code: CodeStandby, actions: []Kind{ActWatchPromotion, ActWritePrecedence}},
		{name: "too little time left to watch", obs: late, code: CodeStandby, actions: []Kind{ActWritePrecedence}},
		{name: "repmgrd stuck: its connections reset, and watched", obs: with(stuck),
			code: CodeStandby, actions: []Kind{ActResetRepmgrd, ActWatchPromotion, ActWritePrecedence},
			settle: func(d Decision) []Result {
				r := ok(d)
				r[0].Reset = []string{"10.77.0.12:44518 -> 10.77.0.11:5432"}
				return r
			},
			message: "local database is a standby (in recovery); repmgrd last reached its upstream 7 s ago (limit 5 s, 2.5 s for a host that does not acknowledge): 1 of its connections to the other nodes' databases reset [10.77.0.12:44518 -> 10.77.0.11:5432]",
			check: func(t *testing.T, d Decision) {
				a := d.Actions[0]
				if a.IdleMS != 5000 || a.UnansweredMS != 2500 || !a.Until.Equal(t0.Add(800*time.Millisecond)) {
					t.Errorf("reset %+v", a)
				}
			}},
		{name: "a look that reset nothing is not said", obs: with(stuck), code: CodeStandby,
			actions: []Kind{ActResetRepmgrd, ActWatchPromotion, ActWritePrecedence}, settle: ok,
			message: "local database is a standby (in recovery)"},
		{name: "a reset that failed is said", obs: with(stuck), code: CodeStandby,
			actions: []Kind{ActResetRepmgrd, ActWatchPromotion, ActWritePrecedence}, settle: func(d Decision) []Result { return failing(d, "ss: no") },
			message: "local database is a standby (in recovery); repmgrd last reached its upstream 7 s ago (limit 5 s, 2.5 s for a host that does not acknowledge): 0 of its connections to the other nodes' databases reset (ss: no)"},
		{name: "stuck but paused: left alone", obs: with(Repmgrd{Running: true, Paused: true, UpstreamLastSeenS: 7, WALReceiver: "streaming"}),
			code: CodeStandby, actions: []Kind{ActWatchPromotion, ActWritePrecedence}},
		{name: "resets turned off", cfg: func(c *Config) { c.RepmgrdStaleS = 0 }, obs: with(stuck),
			code: CodeStandby, actions: []Kind{ActWatchPromotion, ActWritePrecedence}},
	})
}

func TestPromotedDuringTheRun(t *testing.T) {
	second := func(peers ...Peer) Observation {
		o := seen(primary(2), peers...)
		o.Promoted, o.PromotedAfterMS = true, 412
		return o
	}
	older := Peer{Name: "pg-1", Role: RoleDown, Fault: FaultNotAsked, Older: true}
	fenced := second(older)
	fenced.Fence = &Fence{At: t0, Reason: "x"}
	runRules(t, []rule{
		{name: "its peers settled: it passes", obs: second(older), pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence},
			message: "primary on timeline 2 (promoted during this check, 412 ms after it began)"},
		{name: "a peer refused: settled", obs: second(refusedPeer("pg-1")), pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
		{name: "a peer not heard from in the time left: the next run decides", obs: second(silentPeer("pg-1"), silentPeer("pg-2")),
			code: CodeUnsettled, actions: []Kind{ActWritePrecedence},
			message: "primary on timeline 2 (promoted during this check, 412 ms after it began); pg-1, pg-2 did not answer in the time left: the next check decides"},
		{name: "fenced: the fence's reason", obs: fenced, code: CodeFenced, actions: []Kind{ActWritePrecedence}},
	})
}

func TestUnreadableMemory(t *testing.T) {
	bad := Memory{Problem: "invalid character 'x' looking for beginning of value"}
	msg := "agent memory /var/lib/haup/agent.json unreadable (invalid character 'x' looking for beginning of value): the check fails until it is repaired or removed (removing it starts the agent's memory afresh); "
	person := seen(primary(1))
	person.Keepalived = false
	frozen := seen(down(FaultTimeout, "timed out"), peer("pg-1", RolePrimary, 3))
	isolated := seen(primary(1), silentPeer("pg-1"))
	isolated.Witness = &Witness{Name: "wit-9"}
	runRules(t, []rule{
		{name: "a passing primary fails closed", obs: seen(primary(1)), mem: bad, code: CodeMemoryUnreadable, actions: []Kind{ActWritePrecedence},
			message: msg + "primary on timeline 1",
			check: func(t *testing.T, d Decision) {
				if d.Keep || d.Actions[0].Precedence != 0 || d.Known == nil {
					t.Errorf("keep %v precedence %+v known %v", d.Keep, d.Actions[0], d.Known)
				}
			}},
		{name: "a person's run fails too", obs: person, mem: bad, code: CodeMemoryUnreadable},
		{name: "a stale primary is still fenced", obs: seen(primary(1), peer("pg-1", RolePrimary, 2)), mem: bad,
			code: CodeMemoryUnreadable, actions: []Kind{ActFenceStale, ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if r := d.Actions[0].Reason; r != "split brain: peer pg-1 is a primary on newer timeline 2 (ours 1); this primary is stale" {
					t.Errorf("the fence record's reason: %q", r)
				}
			}},
		{name: "nothing that needs the memory: no frozen fence", obs: frozen, mem: bad, code: CodeMemoryUnreadable, actions: []Kind{ActWritePrecedence}},
		{name: "nothing that needs the memory: no isolation count", cfg: func(c *Config) { c.Witness = "wit-9" }, obs: isolated, mem: bad,
			code: CodeMemoryUnreadable, actions: []Kind{ActWritePrecedence}},
		{name: "a standby's duties go on", obs: seen(standby(1)), mem: bad, code: CodeMemoryUnreadable, actions: []Kind{ActWatchPromotion, ActWritePrecedence}},
	})
}

// TestRulesTogether: when several rules apply, the later one's verdict
// stands and each one's actions are taken, in order.
func TestRulesTogether(t *testing.T) {
	fence := &Fence{At: t0, Reason: "split brain"}
	pf := &PortFence{At: t0, Port: 5432, Reason: "stale primary"}
	isolatedOnce := remembered()
	isolatedOnce.Isolation = &Isolation{Checks: 3, Fenced: true, FencedAt: t0}
	stale := seen(primary(1), peer("pg-1", RolePrimary, 2))
	stale.Fence, stale.PortClosed = fence, pf
	wasPrimary := remembered()
	wasPrimary.Known = &Known{Role: RolePrimary, Timeline: 1}
	frozen := seen(down(FaultTimeout, "timed out"), peer("pg-1", RolePrimary, 2))
	frozen.Fence, frozen.PortClosed = fence, pf
	promotedFenced := seen(primary(2), silentPeer("pg-1"))
	promotedFenced.Promoted, promotedFenced.Fence = true, fence
	runRules(t, []rule{
		{name: "stale, fenced already, port closed, isolation record: one fence, port kept, record dropped", obs: stale, mem: isolatedOnce,
			code: CodeStale, actions: []Kind{ActFenceStale, ActClosePort, ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if d.Memory.Isolation != nil {
					t.Errorf("isolation record kept: %+v", d.Memory.Isolation)
				}
			}},
		{name: "frozen with its port closed: the frozen fence, not the port's", obs: frozen, mem: wasPrimary,
			code: CodeLocalDown, actions: []Kind{ActFenceFrozen, ActWritePrecedence}},
		{name: "promoted, unsettled and fenced: fenced", obs: promotedFenced, code: CodeUnsettled, actions: []Kind{ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if !d.Fenced || d.Pass {
					t.Errorf("fenced %v pass %v", d.Fenced, d.Pass)
				}
			}},
		{name: "fenced and memory unreadable: the memory's reason first", obs: func() Observation { o := seen(primary(1)); o.Fence = fence; return o }(),
			mem: Memory{Problem: "schema version 9, this agent reads 1"}, code: CodeMemoryUnreadable, actions: []Kind{ActWritePrecedence},
			check: func(t *testing.T, d Decision) {
				if !strings.Contains(d.Message(), "; fenced since 2026-12-04T12:00:00Z (split brain)") {
					t.Errorf("message %q", d.Message())
				}
			}},
	})
	// Codes list the reason and what was said besides.
	d := Decide(base, seen(down(FaultRefused, "connection refused")), remembered())
	if got := Settle(d, ok(d)).Codes(); !reflect.DeepEqual(got, []Code{CodeLocalDown}) {
		t.Errorf("codes %v", got)
	}
	o := seen(down(FaultRefused, "connection refused"))
	o.Fence, o.PortClosed = fence, pf
	d = Decide(base, o, remembered())
	if got := Settle(d, ok(d)).Codes(); !reflect.DeepEqual(got, []Code{CodeLocalDown, NotePortClosed}) {
		t.Errorf("codes %v", got)
	}
}

func TestPauseRunOut(t *testing.T) {
	paused := func(o Observation, until time.Time) Observation {
		o.Pause = &Pause{Kind: "maintenance", At: until.Add(-time.Minute), Until: until}
		return o
	}
	p := seen(primary(1), peer("pg-1", RoleStandby, 1))
	downStandby := seen(down(FaultRefused, "connection refused"), peer("pg-1", RolePrimary, 1))
	person := paused(p, t0.Add(-time.Hour))
	person.Keepalived = false
	due := "2026-12-04T11:59:54Z"
	runRules(t, []rule{
		{name: "in force: kept", obs: paused(p, t0.Add(time.Minute)), pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
		{name: "just run out: its timer has the grace", obs: paused(p, t0.Add(-PauseGrace+time.Second)), pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}},
		{name: "overdue on the primary: ended", obs: paused(p, t0.Add(-6*time.Second)), pass: true, code: CodePrimary,
			actions: []Kind{ActEndPause, ActWritePrecedence}, settle: ok,
			message: "primary on timeline 1; failover paused (maintenance) until " + due + " resumed by the agent: its timer had not",
			check: func(t *testing.T, d Decision) {
				if a := d.Actions[0]; a.Pause == nil || !a.Pause.Until.Equal(t0.Add(-6*time.Second)) || a.Pause.Kind != "maintenance" {
					t.Errorf("end-pause action %+v", a)
				}
			}},
		{name: "overdue on a node whose database is down: tried, and said", obs: paused(downStandby, t0.Add(-6*time.Second)), code: CodeLocalDown,
			actions: []Kind{ActEndPause, ActWritePrecedence}, settle: func(d Decision) []Result { return failing(d, "connection refused") },
			message: "local database: connection refused; failover paused (maintenance) until " + due + " and not resumed: connection refused"},
		{name: "overdue with the memory unreadable: still ended", obs: paused(p, t0.Add(-6*time.Second)), mem: Memory{Problem: "bad json"},
			code: CodeMemoryUnreadable, actions: []Kind{ActEndPause, ActWritePrecedence}},
		{name: "a run by a person does not act", obs: person, pass: true, code: CodePrimary, actions: nil},
	})
}

func TestHandover(t *testing.T) {
	handing := func(o Observation, until time.Time) Observation {
		o.Handover = &Handover{At: until.Add(-10 * time.Second), Until: until}
		return o
	}
	soon := t0.Add(5 * time.Second)
	demoted := primary(1)
	demoted.ReadOnly = true
	stopped := down(FaultRefused, "connection refused")
	precedence := func(want int) func(*testing.T, Decision) {
		return func(t *testing.T, d Decision) {
			a := d.Actions[len(d.Actions)-1]
			if a.Kind != ActWritePrecedence || a.Precedence != want {
				t.Errorf("last action %+v, want precedence %d", a, want)
			}
		}
	}
	fenced := handing(seen(demoted, peer("pg-1", RoleStandby, 1)), soon)
	fenced.Fence = &Fence{At: t0, Reason: "stale"}
	portClosed := handing(seen(stopped, peer("pg-1", RolePrimary, 2)), soon)
	portClosed.PortClosed = &PortFence{At: t0, Port: 5432, Reason: "frozen"}
	isolated := handing(seen(demoted, silentPeer("pg-1")), soon)
	isolated.Witness = &Witness{Name: "wit-9"}
	person := handing(seen(demoted, peer("pg-1", RoleStandby, 1)), soon)
	person.Keepalived = false
	runRules(t, []rule{
		{name: "demoted, read-only: keeps the VIP at the lowest priority", obs: handing(seen(demoted, peer("pg-1", RoleStandby, 1)), soon),
			pass: true, code: CodeHandover, actions: []Kind{ActWritePrecedence}, check: precedence(HandoverPrecedence),
			message: "switchover: demoted at 11:59:55.000, keeps the VIP at the lowest priority until the new primary takes it (at most until 12:00:05.000); " +
				"primary on timeline 1 refuses writes (default_transaction_read_only is on): fenced"},
		{name: "its database stopped cleanly: still", obs: handing(seen(stopped, peer("pg-1", RoleStandby, 1)), soon),
			pass: true, code: CodeHandover, actions: []Kind{ActWritePrecedence}, check: precedence(HandoverPrecedence)},
		{name: "the target already promoted: still, until it takes the VIP", obs: handing(seen(stopped, peer("pg-1", RolePrimary, 2)), soon),
			pass: true, code: CodeHandover, actions: []Kind{ActWritePrecedence}, check: precedence(HandoverPrecedence)},
		{name: "past its end: the VIP is given up", obs: handing(seen(stopped, peer("pg-1", RoleStandby, 1)), t0),
			code: CodeLocalDown, actions: []Kind{ActWritePrecedence}, check: precedence(0)},
		{name: "a writable primary: the ordinary rules", obs: handing(seen(primary(1), peer("pg-1", RoleStandby, 1)), soon),
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}, check: precedence(0)},
		{name: "a standby (it follows the new primary): never", obs: handing(seen(standby(2), peer("pg-1", RolePrimary, 2)), soon),
			code: CodeStandby, actions: []Kind{ActWatchPromotion, ActWritePrecedence}, check: precedence(0)},
		{name: "a read-only primary that is stale: fenced, not held", obs: handing(seen(demoted, peer("pg-1", RolePrimary, 2)), soon),
			code: CodeStale, actions: []Kind{ActFenceStale, ActWritePrecedence}, check: precedence(0)},
		{name: "a fencing in force: never", obs: fenced, code: CodeReadOnly, actions: []Kind{ActWritePrecedence}, check: precedence(0)},
		{name: "its port fenced: never", obs: portClosed, code: CodeLocalDown, actions: []Kind{ActOpenPort, ActWritePrecedence}, check: precedence(0)},
		{name: "isolated: never", cfg: func(c *Config) { c.Witness = "wit-9" }, obs: isolated, code: CodeIsolated, actions: []Kind{ActWritePrecedence}, check: precedence(0)},
		{name: "memory unreadable: never", obs: handing(seen(demoted, peer("pg-1", RoleStandby, 1)), soon), mem: Memory{Problem: "bad json"},
			code: CodeMemoryUnreadable, actions: []Kind{ActWritePrecedence}, check: precedence(0)},
		{name: "a run by a person: the verdict alone", obs: person, code: CodeReadOnly, actions: nil},
		{name: "held: remembered", obs: handing(seen(stopped, peer("pg-1", RolePrimary, 2)), soon),
			pass: true, code: CodeHandover, actions: []Kind{ActWritePrecedence}, check: func(t *testing.T, d Decision) {
				if !d.Memory.Handover {
					t.Error("the handover is not remembered")
				}
			}},
		{name: "after a handover, failing: still the lowest priority (keepalived counts it passing for fall-1 runs)",
			obs: seen(standby(2), peer("pg-1", RolePrimary, 2)), mem: Memory{Version: MemoryVersion, Boot: "boot-1", Handover: true},
			code: CodeStandby, actions: []Kind{ActWatchPromotion, ActWritePrecedence}, check: func(t *testing.T, d Decision) {
				precedence(HandoverPrecedence)(t, d)
				if !d.Memory.Handover {
					t.Error("forgotten while failing")
				}
			}},
		{name: "after a handover, passing again (the switchover undone): its own priority, forgotten",
			obs: seen(primary(1), peer("pg-1", RoleStandby, 1)), mem: Memory{Version: MemoryVersion, Boot: "boot-1", Handover: true},
			pass: true, code: CodePrimary, actions: []Kind{ActWritePrecedence}, check: func(t *testing.T, d Decision) {
				precedence(0)(t, d)
				if d.Memory.Handover {
					t.Error("still remembered")
				}
			}},
		{name: "the lowest priority not written: the VIP is given up", obs: handing(seen(demoted, peer("pg-1", RoleStandby, 1)), soon),
			pass: true, code: CodeHandover, actions: []Kind{ActWritePrecedence},
			settle: func(d Decision) []Result { return failing(d, "read-only file system") },
			check: func(t *testing.T, d Decision) {
				if d.Pass || d.Precedence != 0 || !strings.Contains(d.Message(), "; handover failed, the VIP is given up: the lowest priority could not be written: read-only file system") {
					t.Errorf("settled: pass %v precedence %d %q", d.Pass, d.Precedence, d.Message())
				}
			}},
	})
}
