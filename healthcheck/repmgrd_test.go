package healthcheck

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/haup-project/haup/nodeapi"
)

// ssEstablished is `ss -Htnpi state established` on a standby (10.77.0.12)
// whose primary is 10.77.0.11: the WAL receiver's connection to it,
// repmgrd's stuck one (nothing received for 9 s), repmgrd's ping (still
// being set up: nothing received), a connection of repmgrd's with a reply
// unread, repmgrd's to its own database, an SSH session, and repmgrd's
// IPv6 and IPv4-mapped connections to two more nodes, idle 7 s. pid 473 is
// a second repmgrd, stopped by a signal. Last, two of repmgrd's connections
// with a query sent and nothing received for 2.5 s: one whose server's host
// has not acknowledged it through 3 retransmission timeouts (powered off),
// one that has just sent it.
const ssEstablished = `0      0      10.77.0.12:44498 10.77.0.11:5432  users:(("postgres",pid=457,fd=4))
	 bbr wscale:10,10 rto:204 rtt:1.068/1.05 lastsnd:20 lastrcv:20 lastack:20
0      0      10.77.0.12:44518 10.77.0.11:5432  users:(("repmgrd",pid=472,fd=5))
	 bbr wscale:10,10 rto:204 rtt:1.068/1.05 lastsnd:9000 lastrcv:9000 lastack:9000
0      0      10.77.0.12:44530 10.77.0.11:5432  users:(("repmgrd",pid=472,fd=6))
	 bbr wscale:10,10 rto:204 lastsnd:1900 lastack:1900
93     0      10.77.0.12:44540 10.77.0.11:5432  users:(("repmgrd",pid=472,fd=9))
	 bbr wscale:10,10 rto:204 lastsnd:8000 lastrcv:8000 lastack:8000
0      0      10.77.0.12:44520 10.77.0.12:5432  users:(("repmgrd",pid=472,fd=3))
	 bbr lastsnd:9000 lastrcv:9000 lastack:9000
0      36     10.77.0.12:22    10.77.0.254:51234 users:(("sshd",pid=90,fd=4))
	 bbr lastsnd:9000 lastrcv:9000 lastack:9000
0      0      [fd00::12]:40100 [fd00::13]:5432  users:(("sh",pid=1,fd=3),("repmgrd",pid=472,fd=7))
	 bbr lastsnd:7000 lastrcv:7000 lastack:7000
0      0      [::ffff:10.77.0.12]:40200 [::ffff:10.77.0.14]:5432 users:(("repmgrd",pid=472,fd=8))
	 bbr lastsnd:7000 lastrcv:7000 lastack:7000
0      0      10.77.0.12:44600 10.77.0.11:5432  users:(("repmgrd",pid=473,fd=5))
	 bbr lastsnd:9000 lastrcv:9000 lastack:9000
0      45     10.77.0.12:44700 10.77.0.11:5432  users:(("repmgrd",pid=472,fd=10))
	 bbr wscale:10,10 rto:200 backoff:3 rtt:0.099/0.049 lastsnd:72 lastrcv:2500 lastack:2500 notsent:45
0      45     10.77.0.12:44710 10.77.0.11:5432  users:(("repmgrd",pid=472,fd=11))
	 bbr wscale:10,10 rto:200 rtt:0.099/0.049 lastsnd:0 lastrcv:2500 lastack:2500
`

// stoppedRepmgrd is the processes of ssEstablished: pid 473 stopped by a
// signal, the others asleep.
func stoppedRepmgrd(pid int) string {
	if pid == 473 {
		return "T"
	}
	return "S"
}

func TestStuckSockets(t *testing.T) {
	t.Parallel()
	sys := fakeSystem{procState: stoppedRepmgrd}
	peers := map[string]bool{"10.77.0.11:5432": true, "[fd00::13]:5432": true, "10.77.0.14:5432": true}
	got := stuckSockets(sys, parseSS([]byte(ssEstablished)), peers, 5000, 0)
	want := []Socket{{"10.77.0.12:44518", "10.77.0.11:5432"}, {"[fd00::12]:40100", "[fd00::13]:5432"}, {"[::ffff:10.77.0.12]:40200", "[::ffff:10.77.0.14]:5432"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("socket %d: got %v, want %v", i, got[i], want[i])
		}
	}
	// A host that does not acknowledge: stuck after 2 s already; the
	// connection that has just sent its query is not.
	got = stuckSockets(sys, parseSS([]byte(ssEstablished)), peers, 5000, 2000)
	if len(got) != 4 || got[3] != (Socket{"10.77.0.12:44700", "10.77.0.11:5432"}) {
		t.Errorf("unanswered for 2 s or more: %v", got)
	}
	if got := stuckSockets(sys, parseSS([]byte(ssEstablished)), peers, 5000, 3000); len(got) != 3 {
		t.Errorf("unanswered for 3 s or more: %v", got)
	}
	// A longer idle limit leaves the connections idle 7 s alone.
	if got := stuckSockets(sys, parseSS([]byte(ssEstablished)), peers, 8000, 0); len(got) != 1 || got[0].Local != "10.77.0.12:44518" {
		t.Errorf("idle 8 s or more: %v", got)
	}
}

// TestResetRepmgrdConnections: only repmgrd's stuck connections to the
// peers are closed, each by its exact addresses; ss closing nothing, or
// refusing, is an error naming the connection, and the others are still
// tried.
func TestResetRepmgrdConnections(t *testing.T) {
	t.Parallel()
	var kills []string
	closes := true
	sys := fakeSystem{procState: stoppedRepmgrd, ss: func(_ context.Context, args ...string) ([]byte, error) {
		if args[0] == "-K" {
			kills = append(kills, strings.Join(args, " "))
			if !closes {
				return nil, nil
			}
			return []byte("0 0 " + args[len(args)-3] + " " + args[len(args)-1] + "\n"), nil
		}
		return []byte(ssEstablished), nil
	}}
	peers := []nodeapi.Peer{{Name: "pg-0", Host: "10.77.0.11", Port: 5432}, {Name: "pg-2", Host: "10.77.0.14", Port: 5432}}
	got, err := ResetRepmgrdConnections(context.Background(), sys, peers, 5000, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := "-K -Htn state established src 10.77.0.12:44518 dst 10.77.0.11:5432\n-K -Htn state established src [::ffff:10.77.0.12]:40200 dst [::ffff:10.77.0.14]:5432"
	if len(got) != 2 || strings.Join(kills, "\n") != want {
		t.Errorf("reset %v with\n%s", got, strings.Join(kills, "\n"))
	}
	closes, kills = false, nil
	got, err = ResetRepmgrdConnections(context.Background(), sys, peers, 5000, 0)
	if err == nil || len(got) != 0 || len(kills) != 2 || !strings.Contains(err.Error(), "did not close 10.77.0.12:44518 -> 10.77.0.11:5432") {
		t.Errorf("ss closing nothing: reset %v, tried %d, %v", got, len(kills), err)
	}
}

// TestRunSSStderrIsAnError: ss -K without the privilege to close a socket
// prints on its standard error and exits 0; that is a failure.
func TestRunSSStderrIsAnError(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("no ss here")
	}
	if _, err := (Host{}).SS(context.Background(), "-Htn", "state", "established", "dport", "=", ":1"); err != nil {
		t.Errorf("a plain listing: %v", err)
	}
	if _, err := (Host{}).SS(context.Background(), "--no-such-option"); err == nil {
		t.Error("an ss error was not reported")
	}
}
