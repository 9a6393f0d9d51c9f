package healthcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrecedence(t *testing.T) {
	peer := func(role string, tl int, err string) PeerReport {
		return PeerReport{Name: "pg-1", Role: role, Timeline: tl, Error: err}
	}
	primary := func(tl int, peers ...PeerReport) Report {
		return Report{Pass: true, Role: RolePrimary, Timeline: tl, Peers: peers}
	}
	cases := []struct {
		name     string
		seen     map[string]int
		r        Report
		want     int
		wantSeen int
	}{
		{"primary with its standby streaming", map[string]int{}, primary(1, peer(RoleStandby, 1, "")), 0, 1},
		{"promoted, old primary never seen", map[string]int{}, primary(2, peer(RoleDown, 0, "timed out")), 1, 0},
		{"promoted, old primary last seen on 1", map[string]int{"pg-1": 1}, primary(2, peer(RoleDown, 0, "timed out")), 1, 1},
		{"old primary cut off, standby last seen on its timeline", map[string]int{"pg-1": 1}, primary(1, peer(RoleDown, 0, "timed out")), 0, 1},
		{"promoted, old primary rejoined", map[string]int{"pg-1": 1}, primary(2, peer(RoleStandby, 2, "")), 0, 2},
		{"stale primary sees the newer one", map[string]int{"pg-1": 1}, Report{Role: RolePrimary, Timeline: 1, Peers: []PeerReport{peer(RolePrimary, 2, "")}}, 0, 2},
		{"standby", map[string]int{}, Report{Role: RoleStandby, Timeline: 3}, 0, 0},
		{"failing primary", map[string]int{}, Report{Role: RolePrimary, Timeline: 3}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got int
			for i := 0; i < precedenceChecks; i++ {
				if got, _ = Precedence(c.r, c.seen); i < precedenceChecks-1 && got != 0 {
					t.Fatalf("precedence 1 after %d checks, before %d", i+1, precedenceChecks)
				}
			}
			if got != c.want {
				t.Errorf("precedence %d, want %d", got, c.want)
			}
			if c.seen["pg-1"] != c.wantSeen {
				t.Errorf("seen pg-1 on %d, want %d", c.seen["pg-1"], c.wantSeen)
			}
		})
	}
}

// WritePrecedence keeps the file keepalived tracks and the record of the
// peers' timelines, rewriting the file when keepalived reset it.
func TestWritePrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{PrecedencePath: filepath.Join(dir, "precedence"), PeerSeenPath: filepath.Join(dir, "seen.json")}
	read := func() string {
		b, err := os.ReadFile(cfg.PrecedencePath)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	healthy := Report{Pass: true, Role: RolePrimary, Timeline: 1, Peers: []PeerReport{{Name: "pg-1", Role: RoleStandby, Timeline: 1}}}
	if v, err := WritePrecedence(cfg, healthy); err != nil || v != 0 || read() != "0" {
		t.Fatalf("healthy primary: %d %v file %q", v, err, read())
	}
	// The same node, promoted elsewhere later: pg-1 was last seen on 1.
	promoted := Report{Pass: true, Role: RolePrimary, Timeline: 2, Peers: []PeerReport{{Name: "pg-1", Role: RoleDown, Error: "timed out"}}}
	for i := 1; i < precedenceChecks; i++ {
		if v, err := WritePrecedence(cfg, promoted); err != nil || v != 0 || read() != "0" {
			t.Fatalf("promoted, check %d: %d %v file %q", i, v, err, read())
		}
	}
	if v, err := WritePrecedence(cfg, promoted); err != nil || v != 1 || read() != "1" {
		t.Fatalf("promoted: %d %v file %q", v, err, read())
	}
	// keepalived's init_file resets it at a restart: the next check writes it again.
	os.WriteFile(cfg.PrecedencePath, []byte("0\n"), 0o644)
	if v, _ := WritePrecedence(cfg, promoted); v != 1 || read() != "1" {
		t.Fatalf("after a reset: %d, file %q", v, read())
	}
	// An unreadable record counts as empty.
	os.WriteFile(cfg.PeerSeenPath, []byte("{garbage"), 0o644)
	for i := 1; i < precedenceChecks; i++ {
		WritePrecedence(cfg, promoted)
	}
	if v, _ := WritePrecedence(cfg, promoted); v != 1 {
		t.Fatalf("unreadable record: %d", v)
	}
	if _, err := os.Stat(cfg.PrecedencePath + ".tmp"); err == nil {
		t.Error("temporary file left behind")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files in the state directory: %v", entries)
	}
}

// TestSilentPeerIsMarked: a peer that goes unanswered is marked silent in
// the record, and the mark goes once it answers (olderPeers' condition).
func TestSilentPeerIsMarked(t *testing.T) {
	seen := map[string]int{"pg-1": 1}
	Precedence(Report{Pass: true, Role: RolePrimary, Timeline: 2, Peers: []PeerReport{{Name: "pg-1", Role: RoleDown, Error: "timed out"}}}, seen)
	if seen[silentKey("pg-1")] != 1 {
		t.Fatalf("not marked silent: %v", seen)
	}
	Precedence(Report{Pass: true, Role: RolePrimary, Timeline: 2, Peers: []PeerReport{{Name: "pg-1", Role: RoleStandby, Timeline: 2}}}, seen)
	if _, ok := seen[silentKey("pg-1")]; ok || seen["pg-1"] != 2 {
		t.Fatalf("after an answer: %v", seen)
	}
}
