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
//	haup-check progress clone      the base backups the current primary sends, as JSON (haup's clone progress)
//	haup-check progress replay LSN the bytes this standby has left to receive and replay to LSN, as JSON
//	haup-check resume-failover     resume repmgrd's failover after a switchover's pause
//	haup-check start-gate -- CMD...  the database container's entrypoint: keep diverged data
//	                               aside, then exec CMD (the image's entrypoint)
//	haup-check accept-data-loss -for D -by WHO | -end  an operator's acceptance of a promotion's loss (haup promote)
//	haup-check gate [-dir D]       the promotion gate: exit 0 when this standby may be promoted
//	                               (repmgrd's failover_validation_command, inside the container)
//	haup-check metrics             write the metrics file once (keepalived's runs start it every 5 s)
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
	"syscall"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/probe/nodeprobe"
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
		case "progress":
			return progress(args[1:], stdout, stderr)
		case "gate":
			return gate(args[1:], stdout, stderr)
		case "start-gate":
			return startGate(args[1:], stdout, stderr)
		case "accept-data-loss":
			return acceptDataLoss(args[1:], stdout, stderr)
		case "metrics":
			return writeMetrics(args[1:], stdout, stderr)
		case "update-extensions":
			return updateExtensions(args[1:], stdout, stderr)
		case "set-password":
			return setPassword(args[1:], stdout, stderr)
		case "tls-key":
			// In the database container, as root: the mounted TLS key
			// copied again for PostgreSQL's user, before a reload.
			if err := healthcheck.PrepareTLSKey(context.Background(), os.Getenv); err != nil {
				fmt.Fprintf(stderr, "haup-check: tls-key: %v\n", err)
				return 1
			}
			return 0
		case "record-config":
			if len(args) != 2 {
				fmt.Fprintln(stderr, "usage: haup-check record-config FILE")
				return 2
			}
			if err := nodeprobe.RecordLoaded(args[1]); err != nil {
				fmt.Fprintf(stderr, "haup-check: record-config: %v\n", err)
				return 1
			}
			return 0
		}
	}
	return check(args, stdout, stderr)
}

// command is one of the agent's subcommands that reads the node's
// configuration: its flags, -config among them, and the configuration
// loaded once they are parsed.
type command struct {
	name   string
	flags  *flag.FlagSet
	config *string
	stderr io.Writer
}

func newCommand(name string, stderr io.Writer) *command {
	fs := flag.NewFlagSet("haup-check "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &command{name: name, flags: fs, config: fs.String("config", nodeapi.ConfigPath, "configuration file"), stderr: stderr}
}

// load reads the configuration file and the postgres password it names;
// ok is false once it has said why it could not, as
// "haup-check: NAME: error" (the subcommand then exits 1).
func (c *command) load() (cfg nodeapi.Config, password string, ok bool) {
	cfg, password, err := healthcheck.LoadConfig(*c.config)
	if err != nil {
		fmt.Fprintf(c.stderr, "haup-check: %s: %v\n", c.name, err)
		return cfg, "", false
	}
	return cfg, password, true
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
	if err := json.NewEncoder(stdout).Encode(nodeprobe.Collect(ctx, req)); err != nil {
		fmt.Fprintf(stderr, "haup-check: facts: %v\n", err)
		return 1
	}
	return 0
}

func rejoin(args []string, stdout, stderr io.Writer) int {
	c := newCommand("rejoin", stderr)
	fs := c.flags
	reason := fs.String("reason", "", "why, recorded when no fencing is in force")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for the database to stream")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, password, ok := c.load()
	if !ok {
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
//	pause-failover -for D -why W [-kind K -by WHO]  pause repmgrd's failover here, its resume scheduled after D (a systemd timer); K switchover (default) or maintenance
//	resume-failover [-wait D]     resume it, retrying while the database does not answer
func switchoverStep(step string, args []string, stdout, stderr io.Writer) int {
	c := newCommand(step, stderr)
	fs := c.flags
	timeout := fs.Duration("timeout", 30*time.Second, "how long the step may take")
	pauseFor := fs.Duration("for", 0, "pause-failover: when the resume runs by itself")
	why := fs.String("why", "", "pause-failover: why, for haup status")
	kind := fs.String("kind", nodeapi.PauseSwitchover, "pause-failover: switchover or maintenance (haup pause)")
	by := fs.String("by", "", "pause-failover: who paused, for haup status")
	wait := fs.Duration("wait", 0, "resume-failover: how long to retry while the database does not answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *wait > *timeout {
		*timeout = *wait
	}
	cfg, password, ok := c.load()
	if !ok {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+5*time.Second)
	defer cancel()
	rest := fs.Args()
	var err error
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
		err = healthcheck.PauseFailoverAs(ctx, healthcheck.Host{}, cfg, password, "repmgr", *pauseFor, nodeapi.PauseRecord{Why: *why, Kind: *kind, By: *by})
	case step == "resume-failover" && len(rest) == 0:
		err = healthcheck.ResumeFailover(ctx, healthcheck.Host{}, cfg, password, "repmgr", *wait)
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

// progress prints one sample of a long wait haup reports: a clone (on the
// node that clones) or a switchover's catch-up (on its target). It always
// exits 0 with JSON once the request is understood: what could not be read
// is in the answer's error.
func progress(args []string, stdout, stderr io.Writer) int {
	c := newCommand("progress", stderr)
	fs := c.flags
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 || !(rest[0] == "clone" && len(rest) == 1 || rest[0] == "replay" && len(rest) == 2) {
		fmt.Fprintln(stderr, "usage: haup-check progress clone | replay LSN")
		return 2
	}
	cfg, password, ok := c.load()
	if !ok {
		return 1
	}
	// Asking every peer, then the primary: two of the check's deadlines.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Duration(cfg.DeadlineMillis)*time.Millisecond)
	defer cancel()
	var answer any
	if rest[0] == "clone" {
		answer = healthcheck.CloneProgressOf(ctx, cfg, password)
	} else {
		answer = healthcheck.ReplayProgressOf(ctx, cfg, password, rest[1])
	}
	if err := json.NewEncoder(stdout).Encode(answer); err != nil {
		fmt.Fprintf(stderr, "haup-check: progress: %v\n", err)
		return 1
	}
	return 0
}

// watch streams samples for haup drill until its reader goes away, a signal
// arrives or -for has passed (a bound for a reader that vanished silently).
func watch(args []string, stdout, stderr io.Writer) int {
	c := newCommand("watch", stderr)
	fs := c.flags
	interval := fs.Duration("interval", 100*time.Millisecond, "time between samples")
	limit := fs.Duration("for", time.Hour, "stop after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *interval < 10*time.Millisecond || *limit <= 0 {
		fmt.Fprintln(stderr, "haup-check: watch: -interval must be at least 10ms and -for positive")
		return 2
	}
	cfg, password, ok := c.load()
	if !ok {
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
	c := newCommand("set-password", stderr)
	fs := c.flags
	role := fs.String("role", "", "the database role")
	file := fs.String("file", "", "the file holding the new password")
	if err := fs.Parse(args); err != nil || *role == "" || *file == "" {
		fmt.Fprintln(stderr, "usage: haup-check set-password -role ROLE -file FILE")
		return 2
	}
	cfg, password, ok := c.load()
	if !ok {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := healthcheck.SetPassword(ctx, cfg, password, *role, *file)
	if healthcheck.FaultOf(err) == agent.FaultAuth {
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
	c := newCommand("update-extensions", stderr)
	fs := c.flags
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, password, ok := c.load()
	if !ok {
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
	c := newCommand("fence-vip", stderr)
	fs := c.flags
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, password, ok := c.load()
	if !ok {
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
	config := fs.String("config", nodeapi.ConfigPath, "configuration file")
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
	// Only keepalived's own runs (no flags) record, fence and clear fences.
	c := &cycle{cfg: cfg, sys: healthcheck.Host{}, password: password, configPath: *config, keepalived: !*asJSON && !*verbose, begin: begin}
	r, _ := c.run()
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

// gate is the promotion gate as repmgrd's failover_validation_command runs
// it inside the database container: it exits 0 when the record the agent
// keeps (agent.Gate) lets this standby be promoted, else 1, with the reason
// on stdout for repmgrd's log.
func gate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("haup-check gate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the gate's directory (default: "+nodeapi.GateInContainer+" inside the container, else "+nodeapi.GateDir+")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		*dir = nodeapi.GateDir
		if _, err := os.Stat(nodeapi.GateInContainer); err == nil {
			*dir = nodeapi.GateInContainer
		}
	}
	ok, code, reason := healthcheck.GateVerdict(*dir, time.Now())
	fmt.Fprintf(stdout, "haup promotion gate: %s (%s)\n", reason, code)
	if !ok {
		return 1
	}
	return 0
}

// startGate is the database container's entrypoint: the start gate
// (healthcheck.StartGate), then the image's own entrypoint in its place, so
// the image's process tree is as without it.
func startGate(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: haup-check start-gate -- ENTRYPOINT [ARG...]")
		return 2
	}
	env, err := healthcheck.StartGateEnvFrom(os.Getenv)
	if err != nil {
		// Without the partners' answers the image could clone over data
		// that must be kept: the container stops, Docker starts it again.
		fmt.Fprintf(stderr, "haup start gate: %v: not starting the database\n", err)
		time.Sleep(5 * time.Second)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	if os.Getenv("REPMGR_NODE_TYPE") != "witness" {
		// A witness's database is its own, never cloned nor promoted.
		err = healthcheck.StartGate(ctx, env, healthcheck.VolumeInContainer, nodeapi.GateInContainer, stdout)
	}
	if err == nil {
		if err = healthcheck.PreparePassfile(ctx, env, os.Getenv); err != nil {
			err = fmt.Errorf("repmgr's passfile: %w: not starting the database", err)
		}
	}
	if err == nil {
		if err = healthcheck.PrepareTLSKey(ctx, os.Getenv); err != nil {
			err = fmt.Errorf("%w: not starting the database", err)
		}
	}
	stop()
	if err != nil {
		fmt.Fprintf(stderr, "haup start gate: %v\n", err)
		return 1
	}
	if err := syscall.Exec(args[0], args, os.Environ()); err != nil {
		fmt.Fprintf(stderr, "haup start gate: exec %s: %v\n", args[0], err)
	}
	return 1
}

// acceptDataLoss records (or, with -end, removes) an operator's acceptance
// of a promotion's loss, for at most -for: the gate then allows it.
func acceptDataLoss(args []string, stdout, stderr io.Writer) int {
	c := newCommand("accept-data-loss", stderr)
	fs := c.flags
	d := fs.Duration("for", 0, "how long the acceptance holds (at most 10m)")
	by := fs.String("by", "", "who accepts, for the record")
	end := fs.Bool("end", false, "remove the acceptance")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return 2
	}
	cfg, _, ok := c.load()
	if !ok {
		return 1
	}
	if *end {
		if err := healthcheck.RemoveOverride(cfg); err != nil {
			fmt.Fprintf(stderr, "haup-check: accept-data-loss: %v\n", err)
			return 1
		}
		return 0
	}
	if *d <= 0 || *d > 10*time.Minute || *by == "" {
		fmt.Fprintln(stderr, "haup-check: accept-data-loss: -for between 1ns and 10m and -by are required")
		return 2
	}
	o := agent.Override{Until: time.Now().Add(*d).UTC(), By: *by, Reason: "an operator accepted the data loss"}
	if err := healthcheck.WriteOverride(cfg, o); err != nil {
		fmt.Fprintf(stderr, "haup-check: accept-data-loss: %v\n", err)
		return 1
	}
	return 0
}
