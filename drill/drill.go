// Package drill measures what a failure of the primary costs on a running
// cluster: a writer commits numbered rows through the VIP, every node streams
// (haup-check watch) whether it holds the VIP and whether its database takes
// writes, a fault is injected on the primary and undone, and the drill
// reports how long until the VIP and the writes came back, how long two nodes
// held the VIP or took writes, and which acknowledged writes are missing.
package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/haup-project/haup/internal/poll"
	"github.com/haup-project/haup/internal/shellquote"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/status"
)

// Fault is one kind of failure the drill injects on the primary.
type Fault struct {
	Name string
	// Does and Undoes say what happens, with %[1]s the node and %[2]s the
	// container.
	Does, Undoes string
	// Lab faults need the lab's control of the nodes (power, network).
	Lab bool
	// Failover: the cluster is expected to move the primary role.
	Failover bool
	// Hold is how long the fault lasts by default; 0 holds it until the
	// cluster has failed over.
	Hold time.Duration
}

// Faults are the faults haup drill knows, by name.
var Faults = []Fault{
	{Name: "kill", Does: "kill the database container on %[1]s (docker kill %[2]s)", Undoes: "start it again (docker start %[2]s)", Failover: true},
	{Name: "stop", Does: "stop the database container on %[1]s (docker stop %[2]s: repmgrd, the container's PID 1, ends and PostgreSQL dies with it)", Undoes: "start it again (docker start %[2]s)", Failover: true},
	{Name: "freeze", Does: "freeze PostgreSQL on %[1]s (SIGSTOP to every postgres process of %[2]s)", Undoes: "thaw PostgreSQL on %[1]s (SIGCONT)", Failover: true, Hold: 30 * time.Second},
	{Name: "keepalived", Does: "stop keepalived on %[1]s (systemctl stop keepalived)", Undoes: "start keepalived on %[1]s again", Hold: 10 * time.Second},
	{Name: "poweroff", Does: "power %[1]s off (the lab takes its link down, then kills the machine)", Undoes: "power %[1]s on again", Lab: true, Failover: true},
	{Name: "partition", Does: "cut %[1]s off from every other node (the lab drops all traffic, VRRP too, both ways)", Undoes: "restore %[1]s's network", Lab: true, Failover: true, Hold: 60 * time.Second},
}

// FaultNamed returns the fault called name.
func FaultNamed(name string) (Fault, error) {
	var names []string
	for _, f := range Faults {
		if f.Name == name {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return Fault{}, fmt.Errorf("unknown fault %q (one of: %s)", name, strings.Join(names, ", "))
}

// Lab is the lab's control of its nodes, for the lab faults.
type Lab interface {
	PowerOff(ctx context.Context, node string) error
	PowerOn(ctx context.Context, node string) error
	Cut(ctx context.Context, node, peer string) error
	Restore(ctx context.Context, node, peer string) error
}

// Env is how the drill reaches the cluster.
type Env struct {
	Inventory *inventory.Inventory
	// Dial opens a connection to one node; the drill reopens connections a
	// fault has broken.
	Dial func(ctx context.Context, node string) (remote.Host, error)
	// Status is haup status's view of the cluster.
	Status func(ctx context.Context) (*status.ClusterStatus, error)
	// Lab is nil off the lab.
	Lab      Lab
	Progress io.Writer
}

// Options shape one drill.
type Options struct {
	Fault Fault
	// Hold overrides the fault's own hold when positive.
	Hold time.Duration
	// Node is where the fault goes; empty means the primary. On any other
	// node no failover is expected: the drill measures what losing it
	// costs the primary's writes.
	Node string
	// Settle bounds each wait: for the failover, and for the cluster to be
	// healthy again after the fault is undone.
	Settle time.Duration
}

// Plan is a drill checked against the cluster, before anything is done.
type Plan struct {
	Fault Fault
	// Target is the node the fault hits: the primary unless Options.Node.
	Target  string
	Primary string
	Others  []string
	// CutFrom is who a partition cuts the target off from: the other
	// nodes, and the witness when there is one.
	CutFrom []string
	Mode    string
	Hold    time.Duration
	Settle  time.Duration
	before  *status.ClusterStatus
}

// Prepare checks that the cluster is healthy and the fault can be injected
// here, and returns what the drill will do.
func Prepare(ctx context.Context, env Env, opts Options) (*Plan, error) {
	if opts.Fault.Lab && env.Lab == nil {
		return nil, fmt.Errorf("fault %q needs the lab (haup lab up, and its inventory): on real servers use kill, stop, freeze or keepalived", opts.Fault.Name)
	}
	st, err := env.Status(ctx)
	if err != nil {
		return nil, err
	}
	if m := st.Maintenance; m != nil {
		return nil, fmt.Errorf("refusing: automatic failover is paused for maintenance until %s on %s: a drill measures a failover; `haup resume` first",
			m.Until.UTC().Format("2006-01-02 15:04:05Z"), strings.Join(m.Paused, ", "))
	}
	if st.Verdict != status.VerdictHealthy {
		return nil, fmt.Errorf("refusing: the cluster is %s (%s); a drill starts from a healthy cluster", st.Verdict, strings.Join(st.Reasons, "; "))
	}
	p := &Plan{Fault: opts.Fault, Primary: st.Primary, Hold: opts.Fault.Hold, Settle: opts.Settle, before: st,
		Mode: "asynchronous"}
	if opts.Hold > 0 {
		p.Hold = opts.Hold
	}
	if p.Settle <= 0 {
		p.Settle = 3 * time.Minute
	}
	p.Target = p.Primary
	if opts.Node != "" && opts.Node != p.Primary {
		found := false
		for _, n := range env.Inventory.Nodes {
			found = found || n.Name == opts.Node
		}
		if !found {
			return nil, fmt.Errorf("no node %q in the inventory", opts.Node)
		}
		p.Target = opts.Node
		p.Fault.Failover = false
	}
	for _, n := range env.Inventory.Nodes {
		if n.Name != p.Target {
			p.Others = append(p.Others, n.Name)
		}
	}
	p.CutFrom = p.Others
	if env.Inventory.HasWitness() {
		p.CutFrom = append(append([]string(nil), p.Others...), env.Inventory.Witness.Name)
	}
	if env.Inventory.Database.Synchronous {
		p.Mode = "synchronous (zero-loss)"
	}
	return p, nil
}

// Print says what the drill will do and what it costs.
func (p *Plan) Print(w io.Writer, container string) {
	f := p.Fault
	if p.Target == p.Primary {
		fmt.Fprintf(w, "Drill %q on the primary %s (%s replication):\n", f.Name, p.Primary, p.Mode)
	} else {
		fmt.Fprintf(w, "Drill %q on %s, a standby of the primary %s (%s replication):\n", f.Name, p.Target, p.Primary, p.Mode)
	}
	fmt.Fprintf(w, "  1. create table haup_drill_<time> in database postgres; write numbered rows through the VIP, 20 a second\n")
	hold := "until the cluster has failed over"
	if p.Hold > 0 {
		hold = fmt.Sprintf("for %s", p.Hold)
	}
	if !f.Failover && p.Hold == 0 {
		hold = "until writes through the VIP succeed again"
	}
	fmt.Fprintf(w, "  2. %s, %s\n", fmt.Sprintf(f.Does, p.Target, container), hold)
	fmt.Fprintf(w, "  3. %s; wait until the cluster is healthy (at most %s)\n", fmt.Sprintf(f.Undoes, p.Target, container), p.Settle)
	fmt.Fprintf(w, "  4. count acknowledged writes missing on the primary; drop the table\n")
	switch {
	case f.Failover:
		fmt.Fprintf(w, "\nThis is a real failover: writes fail until the VIP is on a new primary; %s rejoins as its standby.\n", p.Primary)
	case p.Target != p.Primary:
		fmt.Fprintf(w, "\nNo failover is expected: the primary %s keeps the VIP; the drill measures what losing %s costs its writes.\n", p.Primary, p.Target)
	default:
		fmt.Fprintf(w, "\nWrites through the VIP fail while the fault lasts.\n")
	}
}

// Result is what one drill measured. Durations are seconds from the moment
// the fault was in place; -1 means it never happened within the drill.
type Result struct {
	Fault string `json:"fault"`
	Mode  string `json:"mode"`
	Node  string `json:"node"`
	// Primary is the primary before the fault (Node, unless the fault hit
	// a standby).
	Primary string `json:"primary"`
	// CommitMS is the median commit time through the VIP before the fault.
	CommitMS   float64 `json:"commit_ms"`
	NewPrimary string  `json:"new_primary"`
	InjectS    float64 `json:"inject_s"`
	// VIPS: until the VIP was on one node that took writes (another node's,
	// when a failover was expected).
	VIPS float64 `json:"vip_s"`
	// WriteS: until writes came back: the acknowledgement that ended the
	// first gap of more than OutageGap after the fault (or, with none, the
	// first after it; see Writer.WritesBack).
	WriteS float64 `json:"write_s"`
	// LongestGapS: the longest time without an acknowledged write from the
	// fault to the end of the drill.
	LongestGapS float64 `json:"longest_write_gap_s"`
	// PromotedS: until another node took writes; PromotedToVIPS from then
	// until the VIP was on it.
	PromotedS      float64 `json:"promoted_s"`
	PromotedToVIPS float64 `json:"promoted_to_vip_s"`
	// StepDownS: until the failed node neither held the VIP nor took
	// writes (a partitioned primary with a witness steps down by itself).
	StepDownS    float64 `json:"step_down_s"`
	DualVIPS     float64 `json:"dual_vip_s"`
	DualPrimaryS float64 `json:"dual_primary_s"`
	Samples      int     `json:"samples"`
	Attempts     int     `json:"write_attempts"`
	Acked        int     `json:"acked_writes"`
	Lost         int     `json:"lost_acked_writes"`
	LostIDs      []int64 `json:"lost_ids,omitempty"`
	// HealthyS: from undoing the fault until haup status said healthy.
	HealthyS float64  `json:"healthy_after_undo_s"`
	Verdict  string   `json:"verdict"`
	Held     bool     `json:"guarantees_held"`
	Broken   []string `json:"broken,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	Events   []Event  `json:"events"`
}

const watchCommand = "exec " + nodeapi.BinaryPath + " watch -interval 100ms -for 1h\n"

// Run carries the drill out. It undoes its fault whatever happens after the
// injection, and drops its table when the cluster lets it.
func Run(ctx context.Context, env Env, p *Plan) (res *Result, err error) {
	say := func(format string, args ...any) {
		if env.Progress != nil {
			fmt.Fprintf(env.Progress, "drill: "+format+"\n", args...)
		}
	}
	inv := env.Inventory
	container := inv.Database.ContainerName
	res = &Result{Fault: p.Fault.Name, Mode: p.Mode, Node: p.Target, Primary: p.Primary, VIPS: -1, WriteS: -1, PromotedS: -1, PromotedToVIPS: -1, StepDownS: -1}
	var nodes []string
	for _, n := range inv.Nodes {
		nodes = append(nodes, n.Name)
	}
	mon := NewMonitor(nodes)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	for _, n := range nodes {
		go watchNode(wctx, env, n, mon)
	}
	go mon.Run(wctx)

	vip := strings.SplitN(inv.Keepalived.VirtualIPAddress, "/", 2)[0]
	w := &Writer{Addr: vip, Port: inv.Database.Port, Password: inv.Database.PostgresPassword.Value(), RootCAs: tlsRootCAs(inv),
		Table: tableName(time.Now()), Every: 50 * time.Millisecond, Timeout: time.Second}
	if err := w.Exec(ctx, "CREATE TABLE "+quoteIdent(w.Table)+" (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())", 10*time.Second); err != nil {
		return nil, fmt.Errorf("creating the drill's table through the VIP %s: %w (nothing was changed)", vip, err)
	}
	say("table %s created; writing through the VIP %s", w.Table, vip)
	dropped := false
	defer func() {
		if dropped {
			return
		}
		if derr := w.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+quoteIdent(w.Table), 15*time.Second); derr != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("table %s could not be dropped (%v): drop it by hand", w.Table, derr))
		}
	}()
	writeCtx, stopWriter := context.WithCancel(ctx)
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); w.Run(writeCtx) }()
	defer func() { stopWriter(); <-writerDone }()

	// Every node seen and writes flowing before the fault.
	err = poll.Until(ctx, 20*time.Second, 100*time.Millisecond, func() (bool, error) {
		return mon.Seen() && len(w.Acked()) >= 5, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		_, _, last := w.Counts()
		return nil, fmt.Errorf("before the fault: nodes seen %v, writes acknowledged %d (last error: %s); nothing was injected", mon.Seen(), len(w.Acked()), last)
	}
	if err != nil {
		return nil, err
	}

	// The fault.
	say("%s", fmt.Sprintf(p.Fault.Does, p.Target, container))
	injected := time.Now()
	injectedMon := mon.Since()
	undo, err := inject(ctx, env, p)
	if err != nil {
		if undo != nil {
			undo(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("injecting %s on %s: %w", p.Fault.Name, p.Target, err)
	}
	zeroWall := time.Now()
	zero := mon.Since()
	res.InjectS = round2(zeroWall.Sub(injected).Seconds())
	if p.Fault.Lab {
		// The lab's faults act from their first step (the link goes
		// down, the route is cut), run here rather than over SSH: time
		// counts from then, not from when the lab has finished (a
		// powered-off machine takes a second or two to be reaped).
		zeroWall, zero = injected, injectedMon
	}
	res.CommitMS = round2(float64(w.CommitLatency(injected).Microseconds()) / 1000)
	undone := false
	doUndo := func() {
		if undone {
			return
		}
		undone = true
		say("%s", fmt.Sprintf(p.Fault.Undoes, p.Target, container))
		if uerr := undo(context.WithoutCancel(ctx)); uerr != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("undoing the fault failed: %v", uerr))
		}
	}
	defer doUndo()

	not := ""
	if p.Fault.Failover {
		not = p.Primary
	}
	vipCh := mon.When(zero, soleWritableHolder(not))
	promCh := mon.When(zero, writableOther(p.Primary))
	downCh := mon.When(zero, steppedDown(p.Target))
	downAt := time.Duration(-1)
	if p.Target != p.Primary {
		promCh = nil // no promotion is expected; one would show in the events
	}
	settle := time.After(p.Settle)
	var holdCh <-chan time.Time
	if p.Hold > 0 {
		holdCh = time.After(time.Until(zeroWall.Add(p.Hold)))
	}
	vipAt, promAt := time.Duration(-1), time.Duration(-1)
	recovered := func() bool {
		_, ok := w.WritesBack(zeroWall, time.Now())
		return vipAt >= 0 && ok
	}
	// Hold the fault: until its time is up, or (no time given) until the
	// cluster serves writes again.
wait:
	for {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case at := <-vipCh:
			vipAt = at
			say("VIP on a writable primary after %.1f s", (at - zero).Seconds())
		case at := <-promCh:
			promAt = at
		case at := <-downCh:
			downAt = at
			say("%s neither holds the VIP nor takes writes after %.1f s", p.Target, (at - zero).Seconds())
		case <-holdCh:
			break wait
		case <-settle:
			res.Notes = append(res.Notes, fmt.Sprintf("no writable VIP holder within %s of the fault", p.Settle))
			break wait
		case <-time.After(100 * time.Millisecond):
			if holdCh == nil && recovered() {
				break wait
			}
		}
	}
	undoAt := time.Now()
	doUndo()
	// After the undo: writes, if not back yet, then health. Writes may come
	// back on the faulted node itself, when nothing was promoted: then no VIP
	// on another node is waited for.
	deadline := time.Now().Add(p.Settle)
	writesBack := func() bool { _, ok := w.WritesBack(zeroWall, time.Now()); return ok }
	// The monitor samples every 100 ms: once writes are back, a VIP on a
	// new primary is given a second to show.
	var backAt time.Time
	waiting := func() bool {
		if backAt.IsZero() && writesBack() {
			backAt = time.Now()
		}
		return backAt.IsZero() || (vipAt < 0 && time.Since(backAt) < time.Second)
	}
	for time.Now().Before(deadline) && waiting() {
		select {
		case at := <-vipCh:
			vipAt = at
		case at := <-promCh:
			promAt = at
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, ch := range []<-chan time.Duration{vipCh, promCh} {
		select {
		case at := <-ch:
			if ch == vipCh {
				vipAt = at
			} else {
				promAt = at
			}
		default:
		}
	}
	var after *status.ClusterStatus
	err = poll.Until(ctx, time.Until(deadline), time.Second, func() (bool, error) {
		st, serr := env.Status(ctx)
		if serr == nil {
			after = st
		}
		return serr == nil && st.Verdict == status.VerdictHealthy, nil
	})
	switch {
	case err == nil:
		res.HealthyS = round2(time.Since(undoAt).Seconds())
	case errors.Is(err, poll.ErrTimeout):
		res.HealthyS = -1
	default:
		return res, err
	}
	// A second of writes on the settled cluster, then the count.
	time.Sleep(time.Second)
	stoppedAt := time.Now()
	stopWriter()
	<-writerDone
	res.LongestGapS = round2(w.LongestGap(zeroWall, stoppedAt).Seconds())
	stopWatch()

	// Seen after writes came back (a VIP that moved later, during the
	// health wait): still reported.
	for _, c := range []struct {
		ch <-chan time.Duration
		at *time.Duration
	}{{downCh, &downAt}, {vipCh, &vipAt}, {promCh, &promAt}} {
		if *c.at < 0 {
			select {
			case at := <-c.ch:
				*c.at = at
			default:
			}
		}
	}
	if downAt >= 0 {
		res.StepDownS = round2((downAt - zero).Seconds())
	}
	if vipAt >= 0 {
		res.VIPS = round2((vipAt - zero).Seconds())
	}
	if promAt >= 0 {
		res.PromotedS = round2((promAt - zero).Seconds())
		if vipAt >= promAt {
			res.PromotedToVIPS = round2((vipAt - promAt).Seconds())
		}
	}
	if t, ok := w.WritesBack(zeroWall, stoppedAt); ok {
		res.WriteS = round2(t.Sub(zeroWall).Seconds())
	}
	dv, dw, looks := mon.Totals()
	res.DualVIPS, res.DualPrimaryS, res.Samples = dv.Seconds(), dw.Seconds(), looks
	res.Events = mon.Events(zero)
	acked := w.Acked()
	res.Acked = len(acked)
	res.Attempts, _, _ = w.Counts()
	if after != nil {
		res.Verdict = after.Verdict
		res.NewPrimary = after.Primary
		res.Notes = append(res.Notes, newDiverged(p.before, after)...)
	} else {
		res.Verdict = "unknown"
	}
	stored, serr := w.Stored(ctx)
	if serr != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("the acknowledged writes could not be counted: %v", serr))
		res.Lost = -1
	} else {
		for _, id := range acked {
			if !stored[id] {
				res.Lost++
				if len(res.LostIDs) < 20 {
					res.LostIDs = append(res.LostIDs, id)
				}
			}
		}
		if derr := w.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+quoteIdent(w.Table), 15*time.Second); derr == nil {
			dropped = true
		}
	}
	judgeResult(res, p)
	return res, nil
}

func judgeResult(res *Result, p *Plan) {
	if res.DualVIPS > 0 {
		res.Broken = append(res.Broken, fmt.Sprintf("two nodes held the VIP for %.1f s", res.DualVIPS))
	}
	if res.DualPrimaryS > 0 {
		res.Broken = append(res.Broken, fmt.Sprintf("two primaries took writes for %.1f s", res.DualPrimaryS))
	}
	if res.Lost != 0 && strings.HasPrefix(p.Mode, "synchronous") {
		res.Broken = append(res.Broken, fmt.Sprintf("%d acknowledged writes lost in zero-loss mode", res.Lost))
	}
	if res.WriteS < 0 {
		res.Broken = append(res.Broken, "writes through the VIP did not resume")
	}
	if res.Verdict != status.VerdictHealthy {
		res.Broken = append(res.Broken, "the cluster is not healthy after the drill ("+res.Verdict+")")
	}
	res.Held = len(res.Broken) == 0
}

// newDiverged lists data directories kept aside during the drill.
func newDiverged(before, after *status.ClusterStatus) []string {
	old := map[string]bool{}
	for _, n := range before.Nodes {
		for _, d := range n.Diverged {
			old[n.Node+" "+d] = true
		}
	}
	var notes []string
	for _, n := range after.Nodes {
		for _, d := range n.Diverged {
			if !old[n.Node+" "+d] {
				notes = append(notes, fmt.Sprintf("%s: its diverged data is kept in %s", n.Node, d))
			}
		}
	}
	return notes
}

// watchNode streams one node's samples into mon, reconnecting while ctx
// lasts (a fault may break the connection or power the node off).
func watchNode(ctx context.Context, env Env, node string, mon *Monitor) {
	for ctx.Err() == nil {
		h, err := env.Dial(ctx, node)
		if err == nil {
			if s, ok := h.(interface {
				Stream(context.Context, string, io.Writer) error
			}); ok {
				pr, pw := io.Pipe()
				go func() {
					s.Stream(ctx, watchCommand, pw)
					pw.Close()
				}()
				mon.Feed(node, pr)
			}
			h.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// inject puts the fault in place and returns how to undo it.
func inject(ctx context.Context, env Env, p *Plan) (func(context.Context) error, error) {
	c := shellquote.Quote(env.Inventory.Database.ContainerName)
	node := p.Target
	onNode := func(script string) func(context.Context) error {
		return func(ctx context.Context) error {
			h, err := env.Dial(ctx, node)
			if err != nil {
				return err
			}
			defer h.Close()
			_, err = h.Exec(ctx, script)
			return err
		}
	}
	switch p.Fault.Name {
	case "kill":
		return onNode("docker start " + c + " >/dev/null"), onNode("docker kill " + c + " >/dev/null")(ctx)
	case "stop":
		return onNode("docker start " + c + " >/dev/null"), onNode("docker stop -t 30 " + c + " >/dev/null")(ctx)
	case "keepalived":
		return onNode("systemctl start keepalived"), onNode("systemctl stop keepalived")(ctx)
	case "freeze":
		pids := "docker top " + c + " -eo pid,comm | awk '$2 == \"postgres\" {print $1}'"
		// A process may exit between the listing and the signal (kill then
		// fails for it alone), and one forked just before the postmaster
		// stopped escapes the first pass: two passes, errors ignored once the
		// first found the processes.
		return onNode(pids + " | xargs -r kill -CONT"),
			onNode("p=$(" + pids + "); [ -n \"$p\" ] || { echo 'no postgres process in the container' >&2; exit 1; }; " +
				"kill -STOP $p 2>/dev/null; p=$(" + pids + "); [ -z \"$p\" ] || kill -STOP $p 2>/dev/null; exit 0")(ctx)
	case "poweroff":
		return func(ctx context.Context) error { return env.Lab.PowerOn(ctx, node) }, env.Lab.PowerOff(ctx, node)
	case "partition":
		undo := func(ctx context.Context) error {
			var errs []error
			for _, o := range p.CutFrom {
				errs = append(errs, env.Lab.Restore(ctx, node, o))
			}
			return errors.Join(errs...)
		}
		for _, o := range p.CutFrom {
			if err := env.Lab.Cut(ctx, node, o); err != nil {
				return undo, err
			}
		}
		return undo, nil
	}
	return nil, fmt.Errorf("fault %q has no injection", p.Fault.Name)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Print writes the drill's report.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "\nDrill %q on %s (%s replication)\n", r.Fault, r.Node, r.Mode)
	if r.Node != r.Primary {
		fmt.Fprintf(w, "(a standby; the primary was %s)\n", r.Primary)
	}
	fmt.Fprintf(w, "\nWhat the nodes did (seconds from the fault; sampled every %s):\n", Tick)
	for _, e := range r.Events {
		line := fmt.Sprintf("  %+7.1f s  VIP %-12s writable %-12s", e.Seconds, orNone(e.Holders), orNone(e.Writable))
		if len(e.Unseen) > 0 {
			line += "  unseen " + strings.Join(e.Unseen, ",")
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	secs := func(x float64) string {
		if x < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f s", x)
	}
	fmt.Fprintf(w, "\nFigures:\n")
	rows := [][2]string{
		{"commit time before the fault", fmt.Sprintf("%.1f ms", r.CommitMS)},
		{"VIP on a writable primary", secs(r.VIPS)},
		{"first acknowledged write", secs(r.WriteS)},
		{"longest time without one", secs(r.LongestGapS)},
		{"another node took writes", secs(r.PromotedS)},
		{"  then the VIP followed in", secs(r.PromotedToVIPS)},
		{r.Node + " stepped down", secs(r.StepDownS)},
		{"two VIP holders", fmt.Sprintf("%.1f s", r.DualVIPS)},
		{"two writable primaries", fmt.Sprintf("%.1f s", r.DualPrimaryS)},
		{"acknowledged writes", fmt.Sprintf("%d of %d attempts", r.Acked, r.Attempts)},
		{"acknowledged writes lost", lostText(r)},
		{"healthy after the undo", secs(r.HealthyS)},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "  %-28s %s\n", row[0], row[1])
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	primary := r.NewPrimary
	if primary == "" {
		primary = "unknown"
	}
	fmt.Fprintf(w, "\nAfter: %s, primary %s.\n", r.Verdict, primary)
	if r.Held {
		fmt.Fprintln(w, "Guarantees held: one VIP holder and one writable primary at every sample, no acknowledged write lost that the mode promises to keep, healthy afterwards.")
	} else {
		fmt.Fprintf(w, "Guarantees broken: %s.\n", strings.Join(r.Broken, "; "))
	}
}

func lostText(r *Result) string {
	switch {
	case r.Lost < 0:
		return "unknown"
	case r.Lost == 0:
		return "0"
	}
	s := fmt.Sprintf("%d (ids %v)", r.Lost, r.LostIDs)
	if !strings.HasPrefix(r.Mode, "synchronous") {
		s += ": asynchronous replication; database.synchronous: true loses none"
	}
	return s
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(sorted(s), ",")
}

// tlsRootCAs is the CA the writer verifies the database with over TLS, or
// nil when database.tls is off.
func tlsRootCAs(inv *inventory.Inventory) []byte {
	if !inv.Database.TLS.Enabled {
		return nil
	}
	return inv.Database.TLS.CA
}
