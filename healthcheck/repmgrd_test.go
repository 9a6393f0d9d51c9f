package healthcheck

import (
	"context"
	"strings"
	"testing"
)

func TestRepmgrdStuck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		st     RepmgrdState
		paused bool
		stale  int
		want   bool
	}{
		{"watching", RepmgrdState{Running: true, UpstreamLastSeenS: 1}, false, 3, false},
		{"within a pass", RepmgrdState{Running: true, UpstreamLastSeenS: 2}, false, 3, false},
		{"at the limit", RepmgrdState{Running: true, UpstreamLastSeenS: 3}, false, 3, true},
		{"stuck", RepmgrdState{Running: true, UpstreamLastSeenS: 40}, false, 3, true},
		{"stuck but paused", RepmgrdState{Running: true, UpstreamLastSeenS: 40}, true, 3, false},
		{"not running", RepmgrdState{Running: false, UpstreamLastSeenS: 40}, false, 3, false},
		{"never reached its upstream", RepmgrdState{Running: true, UpstreamLastSeenS: -1}, false, 3, false},
		{"turned off", RepmgrdState{Running: true, UpstreamLastSeenS: 40}, false, 0, false},
	} {
		if got := RepmgrdStuck(tc.st, tc.paused, tc.stale); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

// ssEstablished is `ss -Htnp state established` on a standby (10.77.0.12)
// whose primary is 10.77.0.11: the WAL receiver's and repmgrd's connections
// to it, repmgrd's to its own database, an SSH session, and an IPv6 and an
// IPv4-mapped repmgrd connection to a third node.
const ssEstablished = `0      0         10.77.0.12:44498   10.77.0.11:5432 users:(("postgres",pid=457,fd=4))
0      0         10.77.0.12:44518   10.77.0.11:5432 users:(("repmgrd",pid=472,fd=5))
0      0         10.77.0.12:44520   10.77.0.12:5432 users:(("repmgrd",pid=472,fd=3))
0      36        10.77.0.12:22      10.77.0.254:51234 users:(("sshd",pid=90,fd=4))
0      0         [fd00::12]:40100   [fd00::13]:5432 users:(("repmgrd",pid=472,fd=7))
0      0         [::ffff:10.77.0.12]:40200   [::ffff:10.77.0.14]:5432 users:(("repmgrd",pid=472,fd=8))
`

func TestRepmgrdSockets(t *testing.T) {
	peers := map[string]bool{"10.77.0.11:5432": true, "[fd00::13]:5432": true, "10.77.0.14:5432": true}
	got := repmgrdSockets([]byte(ssEstablished), peers)
	want := []Socket{{"10.77.0.12:44518", "10.77.0.11:5432"}, {"[fd00::12]:40100", "[fd00::13]:5432"}, {"[::ffff:10.77.0.12]:40200", "[::ffff:10.77.0.14]:5432"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("socket %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// TestResetRepmgrdConnections: only repmgrd's connections to the peers are
// closed, each by its exact addresses; ss closing nothing is an error.
func TestResetRepmgrdConnections(t *testing.T) {
	var kills [][]string
	closes := true
	ss = func(_ context.Context, args ...string) ([]byte, error) {
		if args[0] == "-K" {
			kills = append(kills, args)
			if !closes {
				return nil, nil
			}
			return []byte(args[len(args)-3] + " " + args[len(args)-1] + "\n"), nil
		}
		return []byte(ssEstablished), nil
	}
	defer func() { ss = runSS }()
	peers := []Peer{{Name: "pg-0", Host: "10.77.0.11", Port: 5432}}
	got, err := ResetRepmgrdConnections(context.Background(), peers)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(kills) != 1 || strings.Join(kills[0], " ") != "-K -Htn state established src 10.77.0.12:44518 dst 10.77.0.11:5432" {
		t.Errorf("reset %v with %q", got, kills)
	}
	closes = false
	if _, err := ResetRepmgrdConnections(context.Background(), peers); err == nil || !strings.Contains(err.Error(), "INET_DIAG_DESTROY") {
		t.Errorf("ss closing nothing: %v", err)
	}
}
