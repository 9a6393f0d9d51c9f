package tasks

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/cluster"
	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/gather"
	"github.com/haup-project/haup/internal/tlsca"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// Verdicts of `haup status`, worst last, with their exit codes.
const (
	VerdictHealthy  = "healthy"
	VerdictDegraded = "degraded"
	VerdictCritical = "critical"
)

// NodeStatus is what one node says about itself.
type NodeStatus struct {
	Node      string `json:"node"`
	Address   string `json:"address"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// Keepalived is the VRRP state (MASTER, BACKUP, FAULT, STOP) or the
	// service state when keepalived is not running.
	Keepalived string `json:"keepalived"`
	// KeepalivedVersion is what the keepalived binary says it is, or else
	// the upstream part of its Debian package's version;
	// KeepalivedPackage is that package's version as dpkg has it.
	KeepalivedVersion string `json:"keepalived_version,omitempty"`
	KeepalivedPackage string `json:"keepalived_package,omitempty"`
	HoldsVIP          bool   `json:"holds_vip"`
	Role              string `json:"role"`
	Timeline          int    `json:"timeline,omitempty"`
	// Container is the container's state and image.
	Container      string                `json:"container"`
	Image          string                `json:"image,omitempty"`
	Replication    []nodeapi.Replication `json:"replication,omitempty"`
	Repmgr         []nodeapi.RepmgrNode  `json:"repmgr,omitempty"`
	LastCheck      *nodeapi.Report       `json:"last_check,omitempty"`
	LastCheckAgeS  float64               `json:"last_check_age_s,omitempty"`
	StatusError    string                `json:"status_error,omitempty"`
	KeepalivedNote string                `json:"keepalived_note,omitempty"`
	// CheckNote says the health check is not running when it should.
	CheckNote   string `json:"check_note,omitempty"`
	PostgreSQL  string `json:"postgresql,omitempty"`
	TimescaleDB string `json:"timescaledb,omitempty"`
	// Fence is a fencing in force; Diverged the data kept aside by fencings.
	Fence    *nodeapi.FenceRecord `json:"fence,omitempty"`
	Diverged []string             `json:"diverged,omitempty"`
	// Promotion is a standby's promotion gate, as its agent last decided
	// (with its age taken into account), for the verdict without a primary.
	Promotion *Promotion `json:"promotion,omitempty"`
	// Lock is the haup run holding the node.
	Lock *probe.Lock `json:"lock,omitempty"`
	// Operation is a multi-step operation begun with this node and not
	// ended (a switchover killed half-way), OperationError an unreadable
	// record of one.
	Operation *probe.Operation `json:"operation,omitempty"`
	// Apply is the record of a haup run (apply, rejoin) on this node that
	// is under way, or did not end.
	Apply *probe.Operation `json:"apply,omitempty"`
	// ImageFacts are the database image's own settings as it runs them.
	ImageFacts     *probe.ImageFacts `json:"image_facts,omitempty"`
	OperationError string            `json:"operation_error,omitempty"`
	// FailoverPaused: repmgrd here will not fail over (a switchover's
	// pause); Pause is its record on the node, when kept.
	FailoverPaused bool                 `json:"failover_paused,omitempty"`
	Pause          *nodeapi.PauseRecord `json:"pause,omitempty"`
	// Repmgrd is repmgrd on the node as its database knows it; RepmgrdNote
	// says why a standby's repmgrd would not fail over.
	Repmgrd     *nodeapi.RepmgrdState `json:"repmgrd,omitempty"`
	RepmgrdNote string                `json:"repmgrd_note,omitempty"`
	// PortClosed: haup's frozen-primary fence has closed the database port
	// to other hosts on this node.
	PortClosed *nodeapi.PortFence `json:"port_closed,omitempty"`
	// LastFailover is when repmgrd last promoted a standby by itself, as
	// the node's copy of repmgr's events says; AgentVersion the version of
	// the haup-check that answered.
	LastFailover *time.Time `json:"last_failover,omitempty"`
	AgentVersion string     `json:"agent_version,omitempty"`
	// TLSCertificate is the database's certificate installed on the node,
	// with database.tls.
	TLSCertificate *TLSCertificate `json:"tls_certificate,omitempty"`

	// dbAddress is where the other nodes reach this node's database: the
	// primary's replication rows name its standbys by it.
	dbAddress string
}

// ClusterStatus is the whole cluster with its verdict.
type ClusterStatus struct {
	Verdict string   `json:"verdict"`
	Reasons []string `json:"reasons"`
	Primary string   `json:"primary,omitempty"`
	VIP     string   `json:"vip"`
	// ZeroLoss: the primary's commits wait for a standby (database.synchronous).
	ZeroLoss bool         `json:"zero_loss,omitempty"`
	Nodes    []NodeStatus `json:"nodes"`
	// Witness is the witness host, when the inventory has one.
	Witness *WitnessStatus `json:"witness,omitempty"`
	// Maintenance is an operator's pause of automatic failover in force
	// (`haup pause`).
	Maintenance *cluster.Maintenance `json:"maintenance,omitempty"`
}

// WitnessStatus is what haup knows of the witness: its host and container,
// whether the primary's check reaches its database, and whether repmgr has
// it registered.
type WitnessStatus struct {
	Node      string `json:"node"`
	Address   string `json:"address"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// Container is running, exited..., absent or unknown.
	Container string `json:"container"`
	// Seen is what the primary's last check said of the witness's
	// database: "yes", or why not; "unknown" without such a check.
	Seen string `json:"seen"`
	// Registered: the primary's repmgr metadata lists it as a witness.
	Registered bool `json:"registered"`
}

// ExitCode maps the verdict to haup status's exit code.
func (c *ClusterStatus) ExitCode() int {
	switch c.Verdict {
	case VerdictHealthy:
		return 0
	case VerdictDegraded:
		return 2
	}
	return 3
}

// RoleUnknown is a role that could not be read (SSH, sudo or the probe
// failed, or the database's configuration is missing): never "down".
const RoleUnknown = "unknown"

// NodeStatusOf reads one node's status in one round trip, from the same
// facts that plans are built on.
func NodeStatusOf(ctx context.Context, h remote.Host, inv *inventory.Inventory, node inventory.Node, bins desired.CheckBinaries) NodeStatus {
	ns := NodeStatus{Node: node.Name, Address: node.Address, Role: RoleUnknown, Container: "unknown", Keepalived: "unknown", dbAddress: desired.DBAddress(node)}
	f, err := gather.Node(ctx, h, inv, node, bins)
	if err != nil {
		ns.Error = err.Error()
		if strings.Contains(err.Error(), "sudo") {
			ns.Reachable = true
			ns.Error = "SSH works but sudo was refused: " + err.Error()
		}
		return ns
	}
	return nodeStatusFromFacts(inv, node, f)
}

func nodeStatusFromFacts(inv *inventory.Inventory, node inventory.Node, f *Facts) NodeStatus {
	ns := NodeStatus{Node: node.Name, Address: node.Address, Reachable: true, Role: RoleUnknown, dbAddress: desired.DBAddress(node)}
	k := f.Keepalived
	ns.KeepalivedVersion, ns.KeepalivedPackage = k.Version, k.Package
	if ns.KeepalivedVersion == "" {
		ns.KeepalivedVersion = upstreamVersion(k.Package)
	}
	switch {
	case k.Package == "" && k.Error == "":
		ns.Keepalived = "not installed"
	case !k.Running():
		ns.Keepalived = "not running (" + k.Active + ")"
	case k.State != "":
		ns.Keepalived = k.State
	default:
		ns.Keepalived = "unknown"
	}
	ns.HoldsVIP = f.Iface.HoldsVIP
	switch {
	case f.DockerError != "":
		ns.Container = "unknown"
		ns.StatusError = f.DockerError
	case f.ContainerError != "":
		ns.Container = "unknown"
		ns.StatusError = "container: " + f.ContainerError
	case f.Container == nil:
		ns.Container = "absent"
	default:
		ns.Container, ns.Image = f.Container.Status, f.Container.Image
		ns.ImageFacts = f.Container.ImageFacts
	}
	if db := f.Database; db != nil {
		ns.Role, ns.Timeline = db.Role, db.Timeline
		ns.Replication, ns.Repmgr = db.Replication, db.Repmgr
		ns.PostgreSQL, ns.TimescaleDB = db.PostgreSQL, db.TimescaleDB
		ns.LastFailover, ns.AgentVersion = db.LastFailover, db.AgentVersion
		ns.FailoverPaused, ns.Pause = db.FailoverPaused, db.Pause
		ns.Repmgrd, ns.PortClosed = db.Repmgrd, db.PortClosed
		if db.Role == nodeapi.RoleStandby {
			ns.RepmgrdNote = repmgrdNote(db.Repmgrd, inv.Database.Repmgr)
		}
		dbErr := db.StatusError
		if db.Role == nodeapi.RoleDown {
			dbErr = db.Reason
		}
		if dbErr != "" && ns.StatusError != "" {
			ns.StatusError += "; " + dbErr
		} else if dbErr != "" {
			ns.StatusError = dbErr
		}
	} else if f.DatabaseError != "" {
		ns.StatusError = "database: " + f.DatabaseError
	}
	ns.LastCheck, ns.LastCheckAgeS = f.LastCheck, f.LastCheckAgeS
	if k.Running() {
		limit := float64(3*inv.Keepalived.Check.Interval + inv.Keepalived.Check.Timeout)
		switch {
		case f.LastCheck == nil:
			ns.CheckNote = "the health check has not run: keepalived cannot execute it (is " + nodeapi.BinaryPath + " there?)"
		case f.LastCheckAgeS > limit:
			ns.CheckNote = fmt.Sprintf("the health check last ran %.0f s ago (interval %d s): keepalived cannot execute it (is %s there?)",
				f.LastCheckAgeS, inv.Keepalived.Check.Interval, nodeapi.BinaryPath)
		}
	}
	if f.Fence != nil {
		fc := *f.Fence
		ns.Fence = &fc
	}
	ns.Diverged = f.Diverged
	ns.TLSCertificate = tlsCertificateOf(inv, f, time.Now())
	if ns.Role == nodeapi.RoleStandby || ns.Role == nodeapi.RoleDown {
		switch {
		case f.GateError != "":
			ns.Promotion = &Promotion{Code: string(agent.GateNoRecord), Reason: "promotion gate record unreadable: " + f.GateError}
		case f.Gate != nil:
			ok, code, why := f.Gate.Allows(f.Gate.At.Add(time.Duration(f.LastCheckAgeS*float64(time.Second))), nil)
			ns.Promotion = &Promotion{Allowed: ok, Code: string(code), Reason: why, LagBytes: f.Gate.LagBytes, WindowS: f.Gate.WindowS}
		}
	}
	if f.Lock != nil {
		l := *f.Lock
		ns.Lock = &l
	}
	if f.Operation != nil {
		op := *f.Operation
		ns.Operation = &op
	}
	ns.OperationError = f.OperationError
	if f.Apply != nil {
		a := *f.Apply
		ns.Apply = &a
	}
	if f.ApplyError != "" {
		ns.OperationError = strings.TrimSpace(ns.OperationError + " " + f.ApplyError)
	}
	switch {
	case ns.Keepalived == "FAULT" && ns.Role == nodeapi.RoleStandby:
		ns.KeepalivedNote = "normal on a standby: its check fails so it never takes the VIP"
	case ns.Keepalived == "MASTER" && ns.Role == nodeapi.RolePrimary:
		ns.KeepalivedNote = "holds the VIP as the primary"
	case ns.Keepalived == "BACKUP" && ns.Role == nodeapi.RolePrimary:
		ns.KeepalivedNote = "check passes; waiting to take the VIP"
	}
	return ns
}

// upstreamVersion is the upstream part of a Debian version: no epoch
// ("1:"), no Debian revision ("-0.2build1").
func upstreamVersion(deb string) string {
	if _, v, ok := strings.Cut(deb, ":"); ok {
		deb = v
	}
	if i := strings.LastIndexByte(deb, '-'); i > 0 {
		deb = deb[:i]
	}
	return deb
}

// repmgrdNote says why a standby's repmgrd would not promote it if the
// primary were lost now: it is not running, no repmgrd has reached its
// upstream since the database started, or its last check of the upstream
// is older than desired.RepmgrdStaleS (the standby's check then resets its
// stuck connections).
func repmgrdNote(st *nodeapi.RepmgrdState, r inventory.Repmgr) string {
	const cost = ": no automatic failover if the primary is lost"
	limit := desired.RepmgrdStaleS(r)
	switch {
	case st == nil:
		return ""
	case !st.Running:
		return "repmgrd is not running" + cost
	case st.UpstreamLastSeenS < 0:
		return "repmgrd has not reached its upstream since the database started" + cost + " until it does"
	case st.UpstreamLastSeenS >= limit:
		return fmt.Sprintf("repmgrd last reached its upstream %d s ago (it checks every %d s)%s while it does not", st.UpstreamLastSeenS, r.MonitorInterval, cost)
	}
	return ""
}

// DefaultMaxLag is the replication lag above which `haup status` (without
// --max-lag) and `haup diff` call the cluster degraded.
const DefaultMaxLag = 30 * time.Second

// StatusOptions tunes the verdict.
type StatusOptions struct {
	// MaxLag is the replication lag above which the cluster is degraded.
	MaxLag time.Duration
}

// ClusterStatusOf asks every reachable node in parallel and judges the
// cluster. hosts lacks the nodes that could not be reached; unreachable
// holds their connection errors.
func ClusterStatusOf(ctx context.Context, inv *inventory.Inventory, hosts Hosts, unreachable map[string]error, bins desired.CheckBinaries, opts StatusOptions) *ClusterStatus {
	cs := &ClusterStatus{VIP: inv.Keepalived.VirtualIPAddress, Nodes: make([]NodeStatus, len(inv.Nodes))}
	// Every node's answer, errors included: each is a row of the status.
	var wg sync.WaitGroup
	for i, n := range inv.Nodes {
		if err, ok := unreachable[n.Name]; ok {
			cs.Nodes[i] = NodeStatus{Node: n.Name, Address: n.Address, Error: err.Error(), Role: RoleUnknown, Keepalived: "unknown", Container: "unknown", dbAddress: desired.DBAddress(n)}
			continue
		}
		wg.Go(func() {
			cs.Nodes[i] = NodeStatusOf(ctx, hosts[n.Name], inv, n, bins)
		})
	}
	if inv.HasWitness() {
		w := inv.WitnessNode()
		cs.Witness = &WitnessStatus{Node: w.Name, Address: w.Address, Container: "unknown", Seen: "unknown"}
		if err, ok := unreachable[w.Name]; ok {
			cs.Witness.Error = err.Error()
		} else {
			wg.Go(func() {
				f, err := gather.Witness(ctx, hosts[w.Name], inv, bins)
				if err != nil {
					cs.Witness.Error = err.Error()
					return
				}
				cs.Witness.from(f)
			})
		}
	}
	wg.Wait()
	finishStatus(cs, opts)
	return cs
}

// finishStatus completes the witness's row from the primary's answers, then
// judges the cluster.
func finishStatus(cs *ClusterStatus, opts StatusOptions) {
	if w := cs.Witness; w != nil {
		for _, n := range cs.Nodes {
			if n.Role != nodeapi.RolePrimary {
				continue
			}
			for _, r := range n.Repmgr {
				w.Registered = w.Registered || (r.Type == "witness" && r.Name == w.Node)
			}
			if c := n.LastCheck; c != nil && c.Witness != nil {
				w.Seen = "yes"
				if c.Witness.Error != "" {
					w.Seen = "no: " + c.Witness.Error
				}
			}
		}
	}
	judge(cs, opts)
}

// Promotion is a standby's promotion gate in the status.
type Promotion struct {
	Allowed  bool    `json:"allowed"`
	Code     string  `json:"code"`
	Reason   string  `json:"reason"`
	LagBytes int64   `json:"lag_bytes"`
	WindowS  float64 `json:"window_s"`
}

// TLSCertificate is the database's TLS certificate as installed on a node.
type TLSCertificate struct {
	NotAfter time.Time `json:"not_after,omitempty"`
	DaysLeft int       `json:"days_left"`
	// MinValidDays is database.tls.min_valid_days: fewer days left is
	// degraded. Issued: haup issued it (apply renews it).
	MinValidDays int    `json:"min_valid_days"`
	Issued       bool   `json:"issued"`
	Error        string `json:"error,omitempty"`
}

// tlsCertificateOf reads the certificate the node has, when database.tls
// is on.
func tlsCertificateOf(inv *inventory.Inventory, f *Facts, now time.Time) *TLSCertificate {
	t := inv.Database.TLS
	if !t.Enabled {
		return nil
	}
	c := &TLSCertificate{MinValidDays: t.MinValidDays, Issued: t.Issued()}
	ff := f.Files[path.Join(nodeapi.TLSDir, nodeapi.TLSCertFile)]
	switch {
	case ff.Error != "":
		c.Error = ff.Error
	case !ff.Exists:
		c.Error = "not installed"
	default:
		cert, err := tlsca.ParseCert(ff.Content)
		if err != nil {
			c.Error = err.Error()
			break
		}
		c.NotAfter, c.DaysLeft = cert.NotAfter.UTC(), tlsca.DaysLeft(cert, now)
	}
	return c
}

// tlsProblem says what is wrong with a node's certificate, and whether it
// is critical (expired: clients, replication and the agent refuse it).
func tlsProblem(node string, c *TLSCertificate) (string, bool) {
	if c == nil {
		return "", false
	}
	fix := "`haup apply` installs a new one"
	if !c.Issued {
		fix = "give a new database.tls.cert_file and key_file, then `haup apply`"
	}
	switch {
	case c.Error != "":
		return fmt.Sprintf("%s: the database's TLS certificate cannot be read (%s): %s", node, c.Error, fix), false
	case c.DaysLeft < 0:
		return fmt.Sprintf("%s: the database's TLS certificate expired on %s: clients, replication and haup's agent refuse it; %s", node, c.NotAfter.Format("2006-01-02"), fix), true
	case c.DaysLeft < c.MinValidDays:
		return fmt.Sprintf("%s: the database's TLS certificate expires on %s, in %d days (fewer than min_valid_days, %d): %s", node, c.NotAfter.Format("2006-01-02"), c.DaysLeft, c.MinValidDays, fix), false
	}
	return "", false
}

func judge(cs *ClusterStatus, opts StatusOptions) {
	var critical, degraded []string
	v := cs.View()
	primaries, holders := v.PrimaryNames(), v.VIPHolders
	sort.Strings(primaries)
	switch len(primaries) {
	case 0:
		msg := "no primary: no database answers as primary"
		for _, n := range cs.Nodes {
			p := n.Promotion
			switch {
			case p != nil && !p.Allowed && n.Role == nodeapi.RoleStandby:
				msg += fmt.Sprintf("; %s is not promoted automatically (%s): writes stay down until the primary returns, or `haup promote %s --accept-data-loss` (it may lack up to %d bytes and %.0f s of writes, or more where its gate could not tell)",
					n.Node, p.Reason, n.Node, p.LagBytes, p.WindowS)
			case p != nil && p.Allowed && n.Role == nodeapi.RoleStandby:
				msg += fmt.Sprintf("; %s's promotion gate allows its promotion (%s): if repmgrd does not promote it within seconds (it gives up when its own database was down as the primary was lost), `haup promote %s`",
					n.Node, p.Reason, n.Node)
			}
		}
		critical = append(critical, msg)
	case 1:
		cs.Primary = primaries[0]
	default:
		critical = append(critical, "split brain: "+strings.Join(primaries, " and ")+" are both primary")
	}
	switch {
	case len(holders) == 0:
		critical = append(critical, "no node holds the VIP "+cs.VIP)
	case len(holders) > 1:
		critical = append(critical, "two VIP holders: "+strings.Join(holders, " and "))
	case cs.Primary != "" && holders[0] != cs.Primary:
		critical = append(critical, fmt.Sprintf("the VIP is on %s, which is not the primary (%s)", holders[0], cs.Primary))
	case len(primaries) == 0:
		critical = append(critical, fmt.Sprintf("the VIP is on %s, which is not a primary", holders[0]))
	}
	versions := map[string][]string{}
	for _, n := range cs.Nodes {
		if n.TimescaleDB != "" || n.PostgreSQL != "" {
			v := "PostgreSQL " + n.PostgreSQL + ", TimescaleDB " + orDash(n.TimescaleDB)
			versions[v] = append(versions[v], n.Node)
		}
	}
	if len(versions) > 1 {
		var parts []string
		for v, nodes := range versions {
			parts = append(parts, strings.Join(nodes, ", ")+": "+v)
		}
		sort.Strings(parts)
		degraded = append(degraded, "versions differ between nodes ("+strings.Join(parts, "; ")+")")
	}
	for _, n := range cs.Nodes {
		if msg, crit := tlsProblem(n.Node, n.TLSCertificate); crit {
			critical = append(critical, msg)
		} else if msg != "" {
			degraded = append(degraded, msg)
		}
		degraded = append(degraded, imageUnsafe(n.Node, n.ImageFacts)...)
		if op := n.Operation; op != nil && (n.Lock == nil || n.Lock.Stale()) {
			degraded = append(degraded, fmt.Sprintf("%s: a %s %s -> %s did not end (interrupted at %q, %s, by %s): `haup diff` shows how `haup apply` finishes or undoes it",
				n.Node, op.Kind, op.From, op.To, op.Step, op.StepAt.Format("2006-01-02 15:04:05Z"), op.By))
		}
		if n.OperationError != "" {
			degraded = append(degraded, n.Node+": "+n.OperationError)
		}
		if a := n.Apply; a != nil && (n.Lock == nil || n.Lock.Stale()) {
			degraded = append(degraded, fmt.Sprintf("%s: a haup %s begun %s by %s did not end (at %q): `haup diff` shows what is left, `haup apply` finishes it",
				n.Node, a.Kind, a.StartedAt.Format("2006-01-02 15:04:05Z"), a.By, a.Step))
		}
		if n.HoldsVIP && n.Reachable && strings.HasPrefix(n.Keepalived, "not ") {
			critical = append(critical, fmt.Sprintf("%s carries the VIP but keepalived is %s: a stale address left by a killed keepalived; `haup apply` removes it and starts keepalived", n.Node, n.Keepalived))
		}
		if n.CheckNote != "" {
			if n.HoldsVIP {
				critical = append(critical, n.Node+" holds the VIP but "+n.CheckNote)
			} else {
				degraded = append(degraded, n.Node+": "+n.CheckNote)
			}
		}
		if n.Fence != nil {
			degraded = append(degraded, fmt.Sprintf("%s is fenced (%s): %s", n.Node, n.Fence.State, n.Fence.Reason))
		}
		if n.FailoverPaused && !cluster.InMaintenance(n.Pause, time.Now()) {
			when := "no resume is scheduled on the node: `haup apply` resumes it"
			switch {
			case n.Pause != nil && time.Now().After(n.Pause.Until.Add(time.Minute)):
				when = fmt.Sprintf("by %s at %s; its automatic resume was due at %s and has not happened (a reboot, or the database down for an hour): `haup apply` resumes it",
					cluster.PauseWho(n.Pause), n.Pause.At.Format("15:04:05Z"), n.Pause.Until.Format("15:04:05Z"))
			case n.Pause != nil:
				when = fmt.Sprintf("by %s at %s; it resumes by itself at %s, or at `haup apply`", cluster.PauseWho(n.Pause), n.Pause.At.Format("15:04:05Z"), n.Pause.Until.Format("15:04:05Z"))
			}
			degraded = append(degraded, n.Node+": repmgrd's automatic failover is paused ("+when+"): no failover if the primary is lost meanwhile")
		}
		if pc := n.PortClosed; pc != nil {
			what := fmt.Sprintf("%s: database port %d closed to other hosts by haup's fence since %s (%s)", n.Node, pc.Port, pc.At.Format("15:04:05Z"), pc.Reason)
			if n.Role == nodeapi.RolePrimary {
				critical = append(critical, what+", yet it answers as the primary: no client or standby reaches it")
			} else {
				degraded = append(degraded, what+"; it opens once the database answers as a standby")
			}
		}
		if n.RepmgrdNote != "" && n.Role == nodeapi.RoleStandby {
			degraded = append(degraded, n.Node+": "+n.RepmgrdNote)
		}
		if n.Role == nodeapi.RolePrimary && n.LastCheck != nil && n.LastCheck.Pass {
			word, rest, _ := strings.Cut(n.LastCheck.Sync, ": ")
			switch word {
			case nodeapi.SyncWaiting:
				critical = append(critical, n.Node+": writes wait (zero-loss mode): "+rest)
			case nodeapi.SyncSuspended:
				degraded = append(degraded, n.Node+": zero-loss mode suspended: "+rest)
			case "unknown":
				degraded = append(degraded, n.Node+": zero-loss mode unknown: "+rest)
			case nodeapi.SyncOn:
				cs.ZeroLoss = true
			}
		}
		switch {
		case !n.Reachable:
			degraded = append(degraded, n.Node+" is unreachable")
			continue
		case n.Role == RoleUnknown:
			degraded = append(degraded, n.Node+"'s database role is unknown: "+orDash(n.StatusError+n.Error))
		case n.Role == nodeapi.RoleDown:
			degraded = append(degraded, n.Node+"'s database is down")
		}
		if strings.HasPrefix(n.Keepalived, "not running") {
			degraded = append(degraded, n.Node+": keepalived is not running")
		}
		if n.Role != nodeapi.RoleStandby {
			continue
		}
		if !cluster.Streams(n.Role, n.Replication) {
			state := "stopped"
			if len(n.Replication) > 0 {
				state = n.Replication[0].State
			}
			degraded = append(degraded, fmt.Sprintf("%s: replication is %s", n.Node, state))
		} else if lag := n.Replication[0].LagSeconds; opts.MaxLag > 0 && lag > opts.MaxLag.Seconds() && n.Replication[0].LagBytes > 0 {
			degraded = append(degraded, fmt.Sprintf("%s: replication lags %.0f s (over %s)", n.Node, lag, opts.MaxLag))
		} else if p := n.Promotion; p == nil || !p.Allowed {
			// It streams, yet repmgrd would not promote it (the gate asks
			// the agent's record): one failure from an outage.
			why := "no promotion gate record (is its agent running?)"
			if p != nil {
				why = p.Code + ": " + strings.TrimPrefix(p.Reason, "promotion refused: ")
			}
			degraded = append(degraded, fmt.Sprintf("%s: its promotion gate refuses an automatic promotion (%s): if the primary is lost, writes stop until it returns or `haup promote %s --accept-data-loss`", n.Node, why, n.Node))
		}
	}
	// Degraded, not healthy with a note: a cluster that will not fail
	// over is one failure from an outage, and alerts should say so while
	// it lasts; the line says it is a maintenance, and until when.
	if cs.Maintenance = statusMaintenance(cs, time.Now()); cs.Maintenance != nil {
		degraded = append(degraded, cs.Maintenance.Line())
	}
	if w := cs.Witness; w != nil {
		const cost = ": repmgr will not promote the standby while the witness is gone (no majority), and a primary that also loses sight of its standby refuses writes"
		switch {
		case !w.Reachable:
			degraded = append(degraded, "witness "+w.Node+" is unreachable ("+orDash(w.Error)+")"+cost)
		case w.Container != "running":
			degraded = append(degraded, "witness "+w.Node+": container "+w.Container+cost)
		case w.Seen != "yes" && w.Seen != "unknown":
			degraded = append(degraded, "witness "+w.Node+": the primary's check does not reach its database ("+strings.TrimPrefix(w.Seen, "no: ")+")"+cost)
		case cs.Primary != "" && !w.Registered:
			degraded = append(degraded, "witness "+w.Node+" is not registered with repmgr (its container registers it when it starts)")
		}
	}
	switch {
	case len(critical) > 0:
		cs.Verdict, cs.Reasons = VerdictCritical, append(critical, degraded...)
	case len(degraded) > 0:
		cs.Verdict, cs.Reasons = VerdictDegraded, degraded
	default:
		cs.Verdict = VerdictHealthy
		standbys := len(cs.Nodes) - 1
		cs.Reasons = []string{fmt.Sprintf("%s is the primary and holds the VIP; %d standby streaming", cs.Primary, standbys)}
		if cs.ZeroLoss {
			cs.Reasons[0] += "; zero-loss mode on"
		}
		if cs.Witness != nil {
			cs.Reasons[0] += "; witness " + cs.Witness.Node + " seen"
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// imageUnsafe names each setting of the database image, as it runs, that
// breaks one of haup's guarantees, with the fix. A container haup created
// has haup's settings; one created otherwise (adopted, or edited by hand)
// may not.
func imageUnsafe(node string, im *probe.ImageFacts) []string {
	if im == nil {
		return nil
	}
	const fix = "; `haup apply` recreates the container with haup's settings"
	var out []string
	if im.StartGate != "" {
		out = append(out, node+": the container's start is held by haup's start gate: "+im.StartGate+" (docs/concepts/promotion-gate.md)")
	}
	if !im.TmpInMemory {
		out = append(out, node+": the container's /tmp is not in memory: killed, it keeps repmgrd's pid file (pid 1), and repmgrd refuses to start again, for good"+fix)
	}
	if im.Error != "" {
		out = append(out, node+": the image's repmgr configuration could not be read: "+im.Error)
	}
	r := im.Repmgr
	if r == nil {
		return out
	}
	if v := r["degraded_monitoring_timeout"]; v != "-1" {
		out = append(out, fmt.Sprintf("%s: repmgrd exits after %s s of degraded monitoring (degraded_monitoring_timeout), and PostgreSQL dies with it (PID 1): a paused or isolated standby loses its database%s", node, orDash(v), fix))
	}
	if v := r["primary_visibility_consensus"]; v != "true" {
		out = append(out, fmt.Sprintf("%s: primary_visibility_consensus is %s: a witness does not veto the promotion of a standby that only it cut off%s", node, orDash(v), fix))
	}
	if v := r["use_replication_slots"]; v != "0" && v != "false" {
		out = append(out, fmt.Sprintf("%s: use_replication_slots is %s: a lost standby makes the primary keep WAL without bound%s", node, orDash(v), fix))
	}
	return out
}

// Status judges the cluster from the answers the plan was built on, as
// `haup status` judges the same answers: a plan with nothing to change
// says whether the cluster it leaves alone is healthy.
func (p *Plan) Status(opts StatusOptions) *ClusterStatus {
	inv := p.Inventory
	cs := &ClusterStatus{VIP: inv.Keepalived.VirtualIPAddress}
	for _, np := range p.Nodes {
		if np.Facts == nil {
			cs.Nodes = append(cs.Nodes, NodeStatus{Node: np.Node.Name, Address: np.Node.Address, Role: RoleUnknown, Keepalived: "unknown", Container: "unknown",
				Error: "not asked", dbAddress: desired.DBAddress(np.Node)})
			continue
		}
		cs.Nodes = append(cs.Nodes, nodeStatusFromFacts(inv, np.Node, np.Facts))
	}
	if inv.HasWitness() {
		w := inv.WitnessNode()
		cs.Witness = &WitnessStatus{Node: w.Name, Address: w.Address, Container: "unknown", Seen: "unknown"}
		if p.Witness != nil && p.Witness.Facts != nil {
			cs.Witness.from(p.Witness.Facts)
		}
	}
	finishStatus(cs, opts)
	return cs
}

// from fills the witness's row from its host's answers.
func (w *WitnessStatus) from(f *Facts) {
	w.Reachable = true
	switch {
	case f.DockerError != "":
		w.Error = "docker: " + f.DockerError
	case f.ContainerError != "":
		w.Error = "container: " + f.ContainerError
	case f.Container == nil:
		w.Container = "absent"
	default:
		w.Container = f.Container.Status
	}
}

// View is the view of what status read from each node.
func (cs *ClusterStatus) View() *cluster.View {
	vn := make([]cluster.ViewNode, len(cs.Nodes))
	for i, n := range cs.Nodes {
		vn[i] = cluster.ViewNode{Name: n.Node, Role: n.Role, Timeline: n.Timeline, HoldsVIP: n.HoldsVIP,
			Streaming: cluster.Streams(n.Role, n.Replication), Fenced: n.Fence != nil, Paused: n.FailoverPaused}
	}
	return cluster.NewView(vn)
}

// statusMaintenance is the cluster's maintenance as status sees it.
func statusMaintenance(cs *ClusterStatus, now time.Time) *cluster.Maintenance {
	return cs.View().Maintenance(func(i int) *nodeapi.PauseRecord { return cs.Nodes[i].Pause }, now)
}
