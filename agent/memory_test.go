package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMemoryRecord(t *testing.T) {
	m := remembered()
	m.Known = &Known{Role: RolePrimary, Timeline: 2, LSN: "0/1", At: t0}
	m.Peers = map[string]PeerMemory{"pg-1": {Timeline: 1, Silent: true}}
	m.Passing, m.Sync = 4, &SyncMemory{Timeline: 2, StandbySeen: true}
	m.Isolation = &Isolation{Since: t0, Checks: 2, Fenced: true, FencedAt: t0, Timeline: 2}
	b := m.Encode()
	if !strings.HasPrefix(string(b), `{"version":1,`) || !strings.HasSuffix(string(b), "}\n") {
		t.Errorf("record %s", b)
	}
	back := ParseMemory(b)
	if !reflect.DeepEqual(back, m) || !back.Equal(m) {
		t.Errorf("read back %+v, want %+v", back, m)
	}
	if m.Equal(remembered()) {
		t.Error("different records equal")
	}
	for _, c := range []struct{ name, in, problem string }{
		{"not JSON", "{garbage", "invalid character"},
		{"empty", "", "unexpected end of JSON input"},
		{"another version", `{"version":2}`, "schema version 2, this agent reads 1"},
		{"no version", `{"passing":3}`, "schema version 0, this agent reads 1"},
	} {
		if got := ParseMemory([]byte(c.in)); !strings.Contains(got.Problem, c.problem) || got.Passing != 0 {
			t.Errorf("%s: %+v, want problem %q", c.name, got, c.problem)
		}
	}
}

// TestMigrate: an upgraded node keeps what the earlier agent's files held,
// each read as its own reader did.
func TestMigrate(t *testing.T) {
	l := Legacy{
		LastReport: []byte(`{"node":"pg-0","pass":true,"reason":"primary on timeline 3","role":"primary","timeline":3,"lsn":"0/7","at":"2026-12-04T12:00:00Z"}`),
		PeerSeen:   []byte(`{"pg-1": 2, " silent pg-1": 1, "pg-2": 3, " passing": 2}`),
		Sync:       []byte(`{"timeline":3,"standby_seen":true}`),
		Isolation:  []byte(`{"since":"2026-12-04T11:00:00Z","checks":5,"fenced":true,"fenced_at":"2026-12-04T11:00:01Z","timeline":3}`),
	}
	m := Migrate(l, "boot-1")
	want := Memory{Version: 1, Boot: "boot-1",
		Known:     &Known{Role: RolePrimary, Timeline: 3, LSN: "0/7", At: t0},
		Peers:     map[string]PeerMemory{"pg-1": {Timeline: 2, Silent: true}, "pg-2": {Timeline: 3}},
		Passing:   2,
		Sync:      &SyncMemory{Timeline: 3, StandbySeen: true},
		Isolation: &Isolation{Since: t0.Add(-time.Hour), Checks: 5, Fenced: true, FencedAt: t0.Add(-time.Hour + time.Second), Timeline: 3}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("migrated\n %+v\nwant %+v", m, want)
	}
	// A last report whose database was down carries its Known over.
	m = Migrate(Legacy{LastReport: []byte(`{"role":"down","known":{"role":"primary","timeline":2,"at":"2026-12-04T12:00:00Z"}}`)}, "b")
	if m.Known == nil || *m.Known != (Known{Role: RolePrimary, Timeline: 2, At: t0}) {
		t.Errorf("known %+v", m.Known)
	}
	// Unreadable files: absent, but an isolation record refuses writes.
	bad := []byte("{garbage")
	m = Migrate(Legacy{LastReport: bad, PeerSeen: bad, Sync: bad, Isolation: bad}, "b")
	if m.Known != nil || m.Peers != nil || m.Sync != nil || m.Isolation == nil || !m.Isolation.Fenced {
		t.Errorf("from unreadable files: %+v", m)
	}
	// Nothing: an empty record.
	if m := Migrate(Legacy{}, "b"); !m.Equal(Memory{Version: 1, Boot: "b"}) {
		t.Errorf("from nothing: %+v", m)
	}
}

func TestOlderPeers(t *testing.T) {
	m := remembered()
	m.Peers = map[string]PeerMemory{"pg-1": {Timeline: 1, Silent: true}, "pg-2": {Timeline: 2, Silent: true}, "pg-3": {Timeline: 1}}
	for _, c := range []struct {
		name  string
		peers []string
		tl    int
		want  map[string]int
	}{
		{"every peer older and silent", []string{"pg-1", "pg-2"}, 3, map[string]int{"pg-1": 1, "pg-2": 2}},
		{"one on our timeline", []string{"pg-1", "pg-2"}, 2, nil},
		{"one answered at the last run", []string{"pg-1", "pg-3"}, 3, nil},
		{"one never seen", []string{"pg-1", "pg-9"}, 3, nil},
		{"no peers", nil, 3, nil},
	} {
		if got := m.OlderPeers(c.peers, c.tl); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	m.Problem = "unreadable"
	if got := m.OlderPeers([]string{"pg-1"}, 3); got != nil {
		t.Errorf("an unreadable memory: %v", got)
	}
}

func TestSmallRules(t *testing.T) {
	for _, c := range []struct {
		f    Fault
		want bool
	}{{FaultNone, true}, {FaultRefused, true}, {FaultAuth, true}, {FaultServer, true}, {FaultTimeout, false}, {FaultNotAsked, false}, {FaultOther, false}} {
		if c.f.Answered() != c.want {
			t.Errorf("%q answered: %v", c.f, !c.want)
		}
	}
	if got := Budget(base, t0); !got.Equal(t0.Add(920 * time.Millisecond)) {
		t.Errorf("budget ends %v", got)
	}
	// RepmgrdStaleS is monitor_interval + connect_timeout + 2.
	for _, c := range []struct{ stale, want int }{{5, 2500}, {6, 3500}, {13, 10500}} {
		if got := UnansweredAfterMS(c.stale); got != c.want {
			t.Errorf("stale %d s: %d ms, want %d", c.stale, got, c.want)
		}
		if connect := c.stale - 3; UnansweredAfterMS(c.stale) < connect*1000+500 {
			t.Errorf("stale %d s: a ping bounded by connect_timeout %d s could be reset", c.stale, connect)
		}
	}
	for _, c := range []struct {
		name string
		wal  string
		st   *Repmgrd
		want bool
	}{
		{"streaming, repmgrd unknown", "streaming", nil, false},
		{"streaming, repmgrd reached its upstream 1 s ago", "streaming", &Repmgrd{Running: true, UpstreamLastSeenS: 1}, false},
		{"streaming, repmgrd missed a pass", "streaming", &Repmgrd{Running: true, UpstreamLastSeenS: FailoverAfterS}, true},
		{"streaming, repmgrd not running", "streaming", &Repmgrd{Running: false, UpstreamLastSeenS: 9}, false},
		{"streaming, repmgrd never reached it", "streaming", &Repmgrd{Running: true, UpstreamLastSeenS: -1}, false},
		{"no WAL receiver", "", nil, true},
		{"WAL receiver waiting", "waiting", &Repmgrd{Running: true}, true},
		{"WAL receiver stopping", "stopping", nil, true},
	} {
		if got := FailoverUnderWay(c.wal, c.st); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	for _, tc := range []struct {
		name  string
		st    Repmgrd
		stale int
		want  bool
	}{
		{"watching", Repmgrd{Running: true, UpstreamLastSeenS: 1}, 3, false},
		{"within a pass", Repmgrd{Running: true, UpstreamLastSeenS: 2}, 3, false},
		{"at the limit", Repmgrd{Running: true, UpstreamLastSeenS: 3}, 3, true},
		{"stuck", Repmgrd{Running: true, UpstreamLastSeenS: 40}, 3, true},
		{"stuck but paused", Repmgrd{Running: true, Paused: true, UpstreamLastSeenS: 40}, 3, false},
		{"not running", Repmgrd{Running: false, UpstreamLastSeenS: 40}, 3, false},
		{"never reached its upstream", Repmgrd{Running: true, UpstreamLastSeenS: -1}, 3, false},
		{"turned off", Repmgrd{Running: true, UpstreamLastSeenS: 40}, 0, false},
	} {
		if got := RepmgrdStuck(tc.st, tc.stale); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
	for _, c := range []struct {
		a    Action
		want string
	}{
		{Action{Kind: ActSetSync, Names: SyncNames}, "set synchronous_standby_names = 'ANY 1 (*)'"},
		{Action{Kind: ActSetSync}, "reset synchronous_standby_names"},
		{Action{Kind: ActWritePrecedence, Precedence: 1}, "write precedence 1"},
		{Action{Kind: ActFenceStale}, "fence-stale"},
	} {
		if got := c.a.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}
