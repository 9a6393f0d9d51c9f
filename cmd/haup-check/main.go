// Command haup-check is haup's agent on every node.
//
// With no arguments it tells keepalived whether this node may hold the VIP:
// it exits 0 only when the local database is the writable primary, no peer is
// a newer primary and no fencing is in force. Every other outcome exits 1
// with one line saying why. When it finds this node a stale primary (a
// reachable peer is primary on a newer timeline) it fences it: writes are
// refused at once and the haup-rejoin unit stops the database, keeps its data
// aside and brings it back as a standby.
//
// Subcommands, for haup and for people on the node:
//
//	haup-check -v | -json          run the check without recording or fencing
//	haup-check -status REPMGR_DB   status report as JSON (exit 0)
//	haup-check facts REQUEST_JSON  the node's facts as JSON, for haup
//	haup-check rejoin [-reason R]  fence hard and rejoin as a standby
//	haup-check record-config FILE  record FILE as keepalived's loaded configuration
//	haup-check set-password -role R -file F  set R's password inside the database from F (the primary)
//	haup-check update-extensions   bring timescaledb and repmgr to the image's versions (the primary)
//	haup-check watch [-interval D] [-for D]  one JSON line per interval: VIP held, database state (haup drill)
//	haup-check resume-failover     resume repmgrd's failover after a switchover's pause
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/probe"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "facts":
			return facts(args[1:], stdout, stderr)
		case "rejoin":
			return rejoin(args[1:], stdout, stderr)
		case "fence-vip":
			return fenceVIP(args[1:], stdout, stderr)
		case "demote", "undemote", "wait-replay", "wait-caught-up", "promote", "follow", "stop-database", "start-database", "forget-witness", "pause-failover", "resume-failover":
			return switchoverStep(args[0], args[1:], stdout, stderr)
		case "watch":
			return watch(args[1:], stdout, stderr)
		case "update-extensions":
			return updateExtensions(args[1:], stdout, stderr)
		case "set-password":
			return setPassword(args[1:], stdout, stderr)
		case "record-config":
			if len(args) != 2 {
				fmt.Fprintln(stderr, "usage: haup-check record-config FILE")
				return 2
			}
			if err := probe.RecordLoaded(args[1]); err != nil {
				fmt.Fprintf(stderr, "haup-check: record-config: %v\n", err)
				return 1
			}
			return 0
		}
	}
	return check(args, stdout, stderr)
}

func facts(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: haup-check facts REQUEST_JSON")
		return 2
	}
	var req probe.Request
	if err := json.Unmarshal([]byte(args[0]), &req); err != nil {
		fmt.Fprintf(stderr, "haup-check: facts: bad request: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := json.NewEncoder(stdout).Encode(probe.Collect(ctx, req)); err != nil {
		fmt.Fprintf(stderr, "haup-check: facts: %v\n", err)
		return 1
	}
	return 0
}

func rejoin(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("haup-check rejoin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", healthcheck.ConfigPath, "configuration file")
	reason := fs.String("reason", "", "why, recorded when no fencing is in force")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for the database to stream")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, password, err := healthcheck.LoadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: rejoin: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := healthcheck.Rejoin(ctx, cfg, password, healthcheck.RejoinOptions{Wait: *wait, Reason: *reason, Log: stdout}); err != nil {
		fmt.Fprintf(stderr, "haup-check: rejoin: %v\n", err)
		return 1
	}
	return 0
}

// switchoverStep runs one step of a switchover that haup orchestrates:
//
//	demote               refuse writes; print the WAL position after it
//	undemote             take writes again
//	wait-replay LSN      wait (-timeout) until this standby replayed LSN
//	wait-caught-up LSN   wait until the stopped old primary's last WAL is received and replayed
//	stop-database        shut the container's database down cleanly, the container kept running
//	start-database       start it again inside the running container, on the data it has
//	follow CONNINFO      start this node's stopped database as a standby of CONNINFO, inside its running container
//	promote OLD_PRIMARY  promote this standby, record it in repmgr's metadata
//	forget-witness NAME  remove a witness no longer in the inventory from repmgr's metadata (on the primary)
//	pause-failover -for D -why W  pause repmgrd's failover here, its resume scheduled after D (a systemd timer)
//	resume-failover [-wait D]     resume it, retrying while the database does not answer
func switchoverStep(step string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("haup-check "+step, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", healthcheck.ConfigPath, "configuration file")
	timeout := fs.Duration("timeout", 30*time.Second, "how long the step may take")
	pauseFor := fs.Duration("for", 0, "pause-failover: when the resume runs by itself")
	why := fs.String("why", "", "pause-failover: why, for haup status")
	wait := fs.Duration("wait", 0, "resume-failover: how long to retry while the database does not answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *wait > *timeout {
		*timeout = *wait
	}
	cfg, password, err := healthcheck.LoadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: %s: %v\n", step, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+5*time.Second)
	defer cancel()
	rest := fs.Args()
	switch {
	case step == "demote":
		var lsn string
		if lsn, err = healthcheck.Demote(ctx, cfg, password); err == nil {
			fmt.Fprintln(stdout, lsn)
		}
	case step == "undemote":
		err = healthcheck.Undemote(ctx, cfg, password)
	case step == "wait-replay" && len(rest) == 1:
		err = healthcheck.WaitReplay(ctx, cfg, password, rest[0], *timeout)
	case step == "wait-caught-up" && len(rest) == 1:
		err = healthcheck.WaitCaughtUp(ctx, cfg, password, rest[0], *timeout)
	case step == "follow" && len(rest) == 1:
		err = healthcheck.Follow(ctx, cfg, rest[0], *timeout)
	case step == "stop-database" && len(rest) == 0:
		err = healthcheck.StopDatabase(ctx, cfg.Container, *timeout)
	case step == "start-database" && len(rest) == 0:
		err = healthcheck.StartDatabase(ctx, cfg.Container, *timeout)
	case step == "promote" && len(rest) == 1:
		err = healthcheck.Promote(ctx, cfg, password, "repmgr", rest[0])
	case step == "pause-failover" && len(rest) == 0 && *pauseFor > 0:
		err = healthcheck.PauseFailover(ctx, cfg, password, "repmgr", *pauseFor, *why)
	case step == "resume-failover" && len(rest) == 0:
		err = healthcheck.ResumeFailover(ctx, cfg, password, "repmgr", *wait)
	case step == "forget-witness" && len(rest) == 1:
		err = healthcheck.ForgetWitness(ctx, cfg, password, "repmgr", rest[0])
	default:
		fmt.Fprintf(stderr, "usage: haup-check %s (see haup-check's documentation)\n", step)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: %s: %v\n", step, err)
		return 1
	}
	return 0
}

// watch streams samples for haup drill until its reader goes away, a signal
// arrives or -for has passed (a bound for a reader that vanished silently).
func watch(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("haup-check watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", healthcheck.ConfigPath, "configuration file")
	interval := fs.Duration("interval", 100*time.Millisecond, "time between samples")
	limit := fs.Duration("for", time.Hour, "stop after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *interval < 10*time.Millisecond || *limit <= 0 {
		fmt.Fprintln(stderr, "haup-check: watch: -interval must be at least 10ms and -for positive")
		return 2
	}
	cfg, password, err := healthcheck.LoadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: watch: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	if err := healthcheck.Watch(ctx, cfg, password, *interval, stdout); err != nil {
		fmt.Fprintf(stderr, "haup-check: watch: %v\n", err)
		return 1
	}
	return 0
}

func setPassword(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("haup-check set-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", healthcheck.ConfigPath, "configuration file")
	role := fs.String("role", "", "the database role")
	file := fs.String("file", "", "the file holding the new password")
	if err := fs.Parse(args); err != nil || *role == "" || *file == "" {
		fmt.Fprintln(stderr, "usage: haup-check set-password -role ROLE -file FILE")
		return 2
	}
	cfg, password, err := healthcheck.LoadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: set-password: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = healthcheck.SetPassword(ctx, cfg, password, *role, *file)
	if err != nil && strings.Contains(err.Error(), "password authentication failed") {
		// A rotation interrupted after the database took the new password.
		if next, ok := healthcheck.NextPassword(cfg); ok {
			err = healthcheck.SetPassword(ctx, cfg, next, *role, *file)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: set-password: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "password of %s set inside the database\n", *role)
	return 0
}

func updateExtensions(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("haup-check update-extensions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", healthcheck.ConfigPath, "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, password, err := healthcheck.LoadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: update-extensions: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	done, err := healthcheck.UpdateExtensions(ctx, cfg, password)
	for _, d := range done {
		fmt.Fprintln(stdout, d)
	}
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: update-extensions: %v\n", err)
		return 1
	}
	if len(done) == 0 {
		fmt.Fprintln(stdout, "extensions already at the image's versions")
	}
	return 0
}

// fenceVIP is the detached half of the check; one runs at a time.
func fenceVIP(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("haup-check fence-vip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", healthcheck.ConfigPath, "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, password, err := healthcheck.LoadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: fence-vip: %v\n", err)
		return 1
	}
	lock, err := os.OpenFile("/run/haup/fence-vip.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 1
	}
	defer lock.Close()
	if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return 0 // another one is at work
	}
	did, err := healthcheck.FenceVIPHolder(context.Background(), cfg, password)
	if did != "" {
		fmt.Fprintln(stdout, did)
		exec.Command("logger", "-t", "haup-check", did).Run()
	}
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: fence-vip: %v\n", err)
		return 1
	}
	return 0
}

func check(args []string, stdout, stderr io.Writer) int {
	begin := time.Now()
	fs := flag.NewFlagSet("haup-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", healthcheck.ConfigPath, "configuration file")
	verbose := fs.Bool("v", false, "print role, timeline, peers and latency")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	status := fs.String("status", "", "print a status report (check, replication, repmgr's view from this `repmgr-database`) as JSON and exit 0; for haup status")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, password, err := healthcheck.LoadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: fail: %v\n", err)
		return 1
	}
	if *status != "" {
		json.NewEncoder(stdout).Encode(healthcheck.Status(context.Background(), cfg, password, *status))
		return 0
	}
	r := healthcheck.Run(context.Background(), cfg, password)
	// During a password rotation the database may already have the new
	// password while the live file still holds the old one.
	if healthcheck.AuthFailed(r) {
		if next, ok := healthcheck.NextPassword(cfg); ok {
			password = next
			r = healthcheck.Run(context.Background(), cfg, password)
		}
	}
	// Only keepalived's own runs (no flags) record, fence and clear fences,
	// so `haup status` shows what keepalived last saw, not a run by haup or
	// a person.
	keepalived := !*asJSON && !*verbose
	if keepalived && r.Role == healthcheck.RoleStandby {
		r = standbyDuties(cfg, password, r, begin)
	}
	var prev *healthcheck.Report
	if keepalived {
		prev = healthcheck.ReadState(cfg.StatePath)
		healthcheck.CarryKnown(&r, prev)
	}
	if fence, err := healthcheck.ReadFence(cfg.FencePath); fence != nil || err != nil {
		if err != nil {
			// A fence record that cannot be read still fences: fail closed.
			fence = &healthcheck.FenceRecord{Reason: "fence record unreadable: " + err.Error()}
		}
		r.Fenced = true
		if r.Pass {
			r.Pass = false
			r.Reason = "fenced since " + fence.At.Format(time.RFC3339) + " (" + fence.Reason + "): this node may not hold the VIP until it streams as a standby"
		}
		if keepalived && r.Role == healthcheck.RoleStandby {
			st := healthcheck.Status(context.Background(), cfg, password, "")
			streaming := len(st.Replication) > 0 && st.Replication[0].State == "streaming"
			if cleared, _ := healthcheck.ClearFenceIfRejoined(cfg, r, streaming); cleared {
				r.Fenced = false
			}
		}
	}
	// With a witness: an isolated primary refuses writes, and the refusal
	// is lifted once a standby answers again.
	if keepalived {
		r = healthcheck.ManageIsolation(context.Background(), cfg, password, r)
	}
	if keepalived && r.Stale != nil {
		if err := healthcheck.Fence(context.Background(), cfg, password, r); err != nil {
			r.Reason += "; fencing: " + err.Error()
		} else {
			r.Reason += "; fenced: writes refused, rejoin started"
		}
		r.Fenced = true
	}
	// A stale primary whose database does not answer (frozen, hung) is
	// fenced from outside: its port closed, its rejoin started. The port
	// opens again once its database answers as a standby (or no fencing is
	// in force).
	if keepalived {
		fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if st := healthcheck.FrozenStale(r, prev); st != nil {
			r.Stale, r.Fenced = st, true
			if err := healthcheck.FenceFrozen(fctx, cfg, prev, *st); err != nil {
				r.Reason += "; fencing: " + err.Error()
			} else {
				r.Reason += "; fenced from outside: its port closed, rejoin started"
			}
		} else if pf := healthcheck.PortClosed(cfg); pf != nil {
			fence, ferr := healthcheck.ReadFence(cfg.FencePath)
			if r.Role == healthcheck.RoleStandby || (fence == nil && ferr == nil) {
				if err := healthcheck.OpenPort(fctx, cfg); err != nil {
					r.Reason += "; opening port: " + err.Error()
				}
			} else {
				// Still fenced: the rules stay (put back if they went).
				if err := healthcheck.ClosePort(fctx, cfg, pf.Reason); err != nil {
					r.Reason += "; port fence: " + err.Error()
				}
				r.Pass = false
				r.Reason += "; port " + strconv.Itoa(cfg.Port) + " closed since " + pf.At.Format(time.RFC3339) + " (" + pf.Reason + ")"
			}
		}
		cancel()
	}
	// Zero-loss mode is the passing primary's business, at every run.
	if keepalived && r.Pass {
		// Bounded by the run's own end: the deadline is 80% of
		// keepalived's timeout, and a standby promoted during this run
		// has used most of it (see standbyDuties).
		left := time.Until(begin.Add(time.Duration(cfg.DeadlineMillis) * time.Millisecond * 115 / 100))
		sctx, cancel := context.WithTimeout(context.Background(), max(left, 100*time.Millisecond))
		v, err := healthcheck.ManageSync(sctx, cfg, password, r)
		cancel()
		if err != nil {
			r.Sync = "unknown: " + err.Error()
		} else {
			r.Sync = v
		}
	}
	// A passing primary without the VIP asks, in a detached process so the
	// check's verdict is not delayed, whether the VIP holder is a stale
	// primary, and fences it.
	if keepalived && r.Pass && cfg.VIP != "" && !healthcheck.HasLocalAddr(cfg.VIP) {
		if self, err := os.Executable(); err == nil {
			cmd := exec.Command(self, "fence-vip", "-config", *config)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if cmd.Start() == nil {
				cmd.Process.Release()
			}
		}
	}
	// A state file that cannot be written must not change the verdict.
	if keepalived {
		if v, err := healthcheck.WritePrecedence(cfg, r); err == nil {
			r.Precedence = v
		}
		_ = healthcheck.WriteState(cfg.StatePath, r)
	}
	switch {
	case *asJSON:
		json.NewEncoder(stdout).Encode(r)
	case *verbose:
		fmt.Fprintf(stdout, "node:     %s\nrole:     %s\ntimeline: %d\nlsn:      %s\n", r.Node, r.Role, r.Timeline, r.LSN)
		for _, p := range r.Peers {
			view := fmt.Sprintf("%s timeline %d", p.Role, p.Timeline)
			if p.Error != "" {
				view = "unreachable: " + p.Error
			}
			fmt.Fprintf(stdout, "peer:     %s: %s (%.1f ms)\n", p.Name, view, p.MS)
		}
		fmt.Fprintf(stdout, "latency:  %.1f ms\n", r.LatencyMS)
	}
	if r.Pass {
		if *verbose {
			fmt.Fprintf(stdout, "pass: %s\n", r.Reason)
		}
		return 0
	}
	fmt.Fprintf(stderr, "haup-check: fail: %s\n", r.Reason)
	return 1
}

// standbyDuties is a standby's part of keepalived's run, within the check's
// deadline (keepalived must not find the check still running at its
// timeout):
//   - a repmgrd stuck on a query to a primary that hung under it gets its
//     connections reset, so it goes on to its next check and, if the
//     primary is gone, to the failover (see healthcheck.RepmgrdStuck);
//   - while a failover is under way, the check watches the database for the
//     promotion until promotedReserve before the deadline, and on seeing it
//     checks the node again as a primary (see healthcheck.AwaitPromotion).
//
// It returns the report keepalived's verdict is made from.
func standbyDuties(cfg healthcheck.Config, password string, r healthcheck.Report, begin time.Time) healthcheck.Report {
	end := begin.Add(time.Duration(cfg.DeadlineMillis) * time.Millisecond)
	var st *healthcheck.RepmgrdState
	if left := time.Until(end); left > 100*time.Millisecond {
		rctx, cancel := context.WithTimeout(context.Background(), left)
		s, paused, err := healthcheck.ReadRepmgrd(rctx, cfg, password, healthcheck.RepmgrDatabase)
		if err == nil {
			st = &s
		}
		// From a missed pass on, repmgrd's connections are looked at: one
		// its server's host does not even acknowledge is stuck from then
		// on, one merely waiting from RepmgrdStaleS.
		if err == nil && cfg.RepmgrdStaleS > 0 && healthcheck.RepmgrdStuck(s, paused, min(cfg.RepmgrdStaleS, healthcheck.FailoverAfterS)) {
			unanswered := healthcheck.UnansweredAfterMS(cfg.RepmgrdStaleS)
			socks, err := healthcheck.ResetRepmgrdConnections(rctx, cfg.Peers, cfg.RepmgrdStaleS*1000, unanswered)
			did := fmt.Sprintf("repmgrd last reached its upstream %d s ago (limit %d s, %.1f s for a host that does not acknowledge): %d of its connections to the other nodes' databases reset", s.UpstreamLastSeenS, cfg.RepmgrdStaleS, float64(unanswered)/1000, len(socks))
			for _, s := range socks {
				did += " [" + s.Local + " -> " + s.Remote + "]"
			}
			if err != nil {
				did += " (" + err.Error() + ")"
			}
			// Said only when something was done or failed: from a missed
			// pass on, every run looks.
			if len(socks) > 0 || err != nil {
				r.Reason += "; " + did
				exec.Command("logger", "-t", "haup-check", did).Run()
			}
		}
		cancel()
	}
	watchUntil := end.Add(-promotedReserve)
	// The usual case, a streaming standby, costs no further connection.
	if time.Until(watchUntil) < healthcheck.PromotionPoll || (st != nil && !healthcheck.FailoverUnderWay(st.WALReceiver, st)) {
		return r
	}
	wctx, cancel := context.WithDeadline(context.Background(), watchUntil)
	promoted, _ := healthcheck.AwaitPromotion(wctx, cfg, password, st)
	cancel()
	if !promoted {
		return r
	}
	again := healthcheck.Run(context.Background(), healthcheck.Within(cfg, end), password)
	again.Reason += fmt.Sprintf(" (promoted during this check, %d ms after it began)", time.Since(begin).Milliseconds())
	if u := again.Unsettled(); again.Pass && len(u) > 0 {
		// Its peers had less than the whole deadline: one that did not
		// answer may be a primary as new as this one. The next run, with
		// its whole deadline, decides.
		again.Pass = false
		again.Reason += "; " + strings.Join(u, ", ") + " did not answer in the time left: the next check decides"
	}
	return again
}

// promotedReserve is the part of the deadline kept for checking a node
// promoted during the check as a primary: its own database and its peers
// (a peer last seen on an older timeline is given 50 ms).
const promotedReserve = 250 * time.Millisecond
