package healthcheck

// A standby's repmgrd can hang for good on its primary. Each pass of its
// monitoring loop pings the primary on a new connection (bounded by
// connect_timeout), then runs `SELECT pg_is_in_recovery()` on the long-lived
// connection it keeps to the primary, with no timeout. A primary that
// freezes, or loses power, between the two (a few milliseconds of each
// second, more under load) leaves repmgrd waiting on that query: no
// further check, no failover, until the connection breaks (for a frozen
// server, never; its kernel still acknowledges). Measured on the lab: 1 in
// 8-10 freeze or power-off drills saw no promotion at all.
//
// The standby's check sees it: repmgrd records the time it last reached its
// upstream in repmgr's shared memory at every pass. When that is older than
// a pass can take (monitor_interval + connect_timeout), repmgrd is stuck in
// that query, or already failing over; either way its established
// connections to the other nodes' databases are of no use, and resetting
// them (as the kernel would for a dead peer after its TCP timeouts) lets it
// go on: to its next ping, and to a failover if the primary is gone. Only
// repmgrd's own sockets are reset, never the WAL receiver's.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
)

// RepmgrDatabase is the database holding repmgr's metadata and functions.
const RepmgrDatabase = "repmgr"

// repmgrdStateQuery reads the local repmgrd's liveness and pause.
const repmgrdStateQuery = repmgrdQuery + ";" + pausedQuery

// ReadRepmgrd reads the local repmgrd's state and pause flag from repmgr's
// shared memory, through the repmgr database.
func ReadRepmgrd(ctx context.Context, cfg Config, password, repmgrDB string) (RepmgrdState, bool, error) {
	rows, err := query(ctx, cfg, password, repmgrDB, repmgrdStateQuery)
	if err != nil {
		return RepmgrdState{}, false, err
	}
	if len(rows) != 2 || len(rows[0]) != 2 || len(rows[1]) != 1 {
		return RepmgrdState{}, false, fmt.Errorf("repmgrd state: unexpected answer %q", rows)
	}
	seen, err := strconv.Atoi(rows[0][1])
	if err != nil {
		return RepmgrdState{}, false, fmt.Errorf("repmgrd state: %w", err)
	}
	return RepmgrdState{Running: rows[0][0] == "true", UpstreamLastSeenS: seen}, rows[1][0] == "true", nil
}

// RepmgrdStuck says whether a standby's repmgrd should have its connections
// reset: it runs, failover is not paused (a paused repmgrd still checks,
// but nothing is to be gained), and it last reached its upstream at least
// staleAfter seconds ago (repmgr counts whole seconds). A repmgrd that never reached it since it started
// (-1) is left alone: it is starting, or its upstream was gone before.
func RepmgrdStuck(st RepmgrdState, paused bool, staleAfter int) bool {
	return staleAfter > 0 && st.Running && !paused && st.UpstreamLastSeenS >= staleAfter
}

// Socket is one established TCP connection: local and remote address.
type Socket struct{ Local, Remote string }

// ss runs the ss utility; a variable for the unit tests.
var ss = runSS

func runSS(ctx context.Context, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "ss", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("ss %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// repmgrdSockets parses `ss -Htnp state established` for the connections
// of processes named repmgrd to one of peers (host:port, IP literals).
func repmgrdSockets(out []byte, peers map[string]bool) []Socket {
	var socks []Socket
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// Recv-Q Send-Q Local Peer Process (the state column is left out
		// when a state is asked for).
		if len(f) < 5 || !strings.Contains(strings.Join(f[4:], " "), `(("repmgrd",`) {
			continue
		}
		if peers[normAddr(f[3])] {
			socks = append(socks, Socket{Local: f[2], Remote: f[3]})
		}
	}
	return socks
}

// normAddr turns ss's address (1.2.3.4:5, [::1]:5, ::ffff:1.2.3.4:5) into
// host:port as net.JoinHostPort writes it, IPv4-mapped addresses as IPv4.
func normAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		i := strings.LastIndex(a, ":")
		if i < 0 {
			return a
		}
		host, port = a[:i], a[i+1:]
	}
	host = strings.Trim(host, "[]")
	if ip := net.ParseIP(strings.SplitN(host, "%", 2)[0]); ip != nil {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		host = ip.String()
	}
	return net.JoinHostPort(host, port)
}

// ResetRepmgrdConnections resets the local repmgrd's established
// connections to the peers' databases (ss -K, which needs the kernel's
// INET_DIAG_DESTROY). It returns the connections reset.
func ResetRepmgrdConnections(ctx context.Context, peers []Peer) ([]Socket, error) {
	want := map[string]bool{}
	for _, p := range peers {
		port := strconv.Itoa(p.Port)
		addrs := []string{p.Host}
		if net.ParseIP(p.Host) == nil {
			if a, err := net.DefaultResolver.LookupHost(ctx, p.Host); err == nil {
				addrs = a
			}
		}
		for _, a := range addrs {
			want[normAddr(net.JoinHostPort(a, port))] = true
		}
	}
	out, err := ss(ctx, "-Htnp", "state", "established")
	if err != nil {
		return nil, err
	}
	socks := repmgrdSockets(out, want)
	var reset []Socket
	for _, s := range socks {
		out, err := ss(ctx, "-K", "-Htn", "state", "established", "src", s.Local, "dst", s.Remote)
		if err != nil {
			return reset, err
		}
		// ss prints the sockets it closed, and nothing (exit 0) when the
		// kernel cannot close them.
		if strings.TrimSpace(string(out)) == "" {
			return reset, fmt.Errorf("ss -K did not close %s -> %s (a kernel without INET_DIAG_DESTROY?)", s.Local, s.Remote)
		}
		reset = append(reset, s)
	}
	return reset, nil
}
