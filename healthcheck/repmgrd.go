package healthcheck

// A standby's repmgrd can hang for good on its primary. Each pass of its
// monitoring loop pings the primary on a new connection (bounded by
// connect_timeout), then runs `SELECT pg_is_in_recovery()` on the long-lived
// connection it keeps to the primary, with no timeout. A primary that
// freezes, or loses power, between the two (a few milliseconds of each
// second, more under load) leaves repmgrd waiting on that query: no
// further check, no failover, until the connection breaks (for a frozen
// server, never; its kernel still acknowledges). Measured on the lab: 1 in
// 32 freeze or power-off drills by hand, and 1 in 20 in a CI bench, saw no
// promotion at all.
//
// The standby's check sees it: repmgrd records the time it last reached its
// upstream in repmgr's shared memory at every pass. When that is older than
// a pass can take (Config.RepmgrdStaleS: monitor_interval + connect_timeout,
// and 2 s for the query on a loaded primary), repmgrd is stuck in that
// query, or already failing over. Its connections that have waited that long
// for their server are of no use, and resetting them (as the kernel would
// for a dead peer after its TCP timeouts) lets it go on: to its next ping,
// and to a failover if the primary is gone. Only those of repmgrd's own
// sockets are reset (see stuckSockets): never a ping being set up, never
// the WAL receiver's.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/haup-project/haup/nodeapi"
)

// repmgrdStateQuery reads the local repmgrd's liveness and pause, and the
// WAL receiver's state, in one round trip.
const repmgrdStateQuery = repmgrdQuery + ";" + pausedQuery + ";" + walReceiverQuery

// ReadRepmgrd reads the local repmgrd's state and pause flag from repmgr's
// shared memory, through the repmgr database, and the WAL receiver's state.
func ReadRepmgrd(ctx context.Context, cfg nodeapi.Config, password, repmgrDB string) (nodeapi.RepmgrdState, bool, error) {
	rows, err := query(ctx, cfg, password, repmgrDB, repmgrdStateQuery)
	if err != nil {
		return nodeapi.RepmgrdState{}, false, err
	}
	if len(rows) != 3 || len(rows[0]) != 2 || len(rows[1]) != 1 || len(rows[2]) != 1 {
		return nodeapi.RepmgrdState{}, false, fmt.Errorf("repmgrd state: unexpected answer %q", rows)
	}
	seen, err := strconv.Atoi(rows[0][1])
	if err != nil {
		return nodeapi.RepmgrdState{}, false, fmt.Errorf("repmgrd state: %w", err)
	}
	return nodeapi.RepmgrdState{Running: rows[0][0] == "true", UpstreamLastSeenS: seen, WALReceiver: rows[2][0]}, rows[1][0] == "true", nil
}

// Socket is one established TCP connection: local and remote address.
type Socket struct{ Local, Remote string }

// SS runs the ss utility.
func (Host) SS(ctx context.Context, args ...string) ([]byte, error) {
	var out, errb strings.Builder
	cmd := exec.CommandContext(ctx, "ss", args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if msg := strings.TrimSpace(errb.String()); err != nil || msg != "" {
		if msg == "" && err != nil {
			msg = err.Error()
		}
		return []byte(out.String()), fmt.Errorf("ss %s: %s", strings.Join(args, " "), msg)
	}
	return []byte(out.String()), nil
}

// ProcState reads a process's state from /proc.
func (Host) ProcState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return string(b[i+2])
	}
	return ""
}

// ssSocket is a line pair of `ss -Htnpi state established`.
type ssSocket struct {
	Socket
	recvQ, sendQ int
	// unanswered: data sent is still unacknowledged after the kernel's
	// retransmission timeout (Send-Q not empty, backoff above 0): the
	// server's host does not answer at all (powered off, cut off).
	unanswered bool
	// pid is repmgrd's (0: another process); lastRcvMS the time since data
	// last arrived (-1: none ever did).
	pid       int
	lastRcvMS int
}

var repmgrdPid = regexp.MustCompile(`\("repmgrd",pid=(\d+),`)
var lastRcv = regexp.MustCompile(`(?:^|\s)lastrcv:(\d+)`)
var backoff = regexp.MustCompile(`(?:^|\s)backoff:([1-9]\d*)`)

// parseSS reads `ss -Htnpi state established`: per socket, a line with
// Recv-Q, Send-Q, local, peer and process, then an indented line of TCP
// details.
func parseSS(out []byte) []ssSocket {
	var socks []ssSocket
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ") {
			if n := len(socks); n > 0 {
				if m := lastRcv.FindStringSubmatch(line); m != nil {
					socks[n-1].lastRcvMS, _ = strconv.Atoi(m[1])
				}
				if backoff.MatchString(line) && socks[n-1].sendQ > 0 {
					socks[n-1].unanswered = true
				}
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		s := ssSocket{Socket: Socket{Local: f[2], Remote: f[3]}, lastRcvMS: -1}
		s.recvQ, _ = strconv.Atoi(f[0])
		s.sendQ, _ = strconv.Atoi(f[1])
		if m := repmgrdPid.FindStringSubmatch(strings.Join(f[4:], " ")); m != nil {
			s.pid, _ = strconv.Atoi(m[1])
		}
		socks = append(socks, s)
	}
	return socks
}

// stuckSockets picks, of repmgrd's connections to the peers, those that
// wait on a server that has sent nothing for idleMS: nothing unread (a
// stopped repmgrd, with a reply waiting, is not stuck on its server), data
// received once (a connection still being set up, as a ping's, is younger
// than connect_timeout and bounded by it), and none for idleMS. A
// connection whose server's host does not even acknowledge what it was
// sent (unanswered: powered off, cut off) is stuck after unansweredMS
// already (0: not sooner than idleMS): a host that is up acknowledges
// within its round trip, a frozen server's kernel too. A repmgrd stopped
// by a signal is left alone (sys tells): resetting would not wake it.
func stuckSockets(sys System, socks []ssSocket, peers map[string]bool, idleMS, unansweredMS int) []Socket {
	var out []Socket
	for _, s := range socks {
		if s.pid == 0 || !peers[normAddr(s.Remote)] || s.recvQ != 0 || s.lastRcvMS < 0 {
			continue
		}
		if s.lastRcvMS < idleMS && !(s.unanswered && unansweredMS > 0 && s.lastRcvMS >= unansweredMS) {
			continue
		}
		if st := sys.ProcState(s.pid); st == "T" || st == "t" {
			continue
		}
		out = append(out, s.Socket)
	}
	return out
}

// normAddr turns ss's address (1.2.3.4:5, [::1]:5, [::ffff:1.2.3.4]:5) into
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

// ResetRepmgrdConnections resets the local repmgrd's connections to the
// peers' databases that have waited idleMS or more for their server, or
// unansweredMS for a host that does not acknowledge (see stuckSockets),
// with ss -K on their exact addresses (the kernel needs INET_DIAG_DESTROY),
// run through sys.
// It returns the connections reset; its error names each that could not
// be.
func ResetRepmgrdConnections(ctx context.Context, sys System, peers []nodeapi.Peer, idleMS, unansweredMS int) ([]Socket, error) {
	want := map[string]bool{}
	var errs []string
	for _, p := range peers {
		port := strconv.Itoa(p.Port)
		addrs := []string{p.Host}
		if net.ParseIP(p.Host) == nil {
			a, err := net.DefaultResolver.LookupHost(ctx, p.Host)
			if err != nil {
				errs = append(errs, "peer "+p.Name+": "+err.Error())
				continue
			}
			addrs = a
		}
		for _, a := range addrs {
			want[normAddr(net.JoinHostPort(a, port))] = true
		}
	}
	out, err := sys.SS(ctx, "-Htnpi", "state", "established")
	if err != nil {
		return nil, err
	}
	var reset []Socket
	for _, s := range stuckSockets(sys, parseSS(out), want, idleMS, unansweredMS) {
		out, err := sys.SS(ctx, "-K", "-Htn", "state", "established", "src", s.Local, "dst", s.Remote)
		switch {
		case err != nil:
			errs = append(errs, err.Error())
		case !strings.Contains(string(out), s.Remote):
			// ss prints what it closed; nothing when the socket went by
			// itself meanwhile, or the kernel cannot close sockets.
			errs = append(errs, fmt.Sprintf("ss -K did not close %s -> %s (gone meanwhile, or a kernel without INET_DIAG_DESTROY)", s.Local, s.Remote))
		default:
			reset = append(reset, s)
		}
	}
	if len(errs) > 0 {
		return reset, errors.New(strings.Join(errs, "; "))
	}
	return reset, nil
}
