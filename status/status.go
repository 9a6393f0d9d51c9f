package status

import (
	"context"
	"fmt"
	"path"
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
	ns := unknownRow(node, "")
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

// unknownRow is the row of a node whose answers status does not have; err
// says why.
func unknownRow(node inventory.Node, err string) NodeStatus {
	return NodeStatus{Node: node.Name, Address: node.Address, Error: err, Role: RoleUnknown, Keepalived: "unknown", Container: "unknown", dbAddress: desired.DBAddress(node)}
}

// nodeStatusFromFacts is the node's row from its facts.
func nodeStatusFromFacts(inv *inventory.Inventory, node inventory.Node, f *probe.Facts) NodeStatus {
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
			ns.RepmgrdNote = RepmgrdNote(db.Repmgrd, inv.Database.Repmgr)
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

// RepmgrdNote says why a standby's repmgrd would not promote it if the
// primary were lost now: it is not running, no repmgrd has reached its
// upstream since the database started, or its last check of the upstream
// is older than desired.RepmgrdStaleS (the standby's check then resets its
// stuck connections).
func RepmgrdNote(st *nodeapi.RepmgrdState, r inventory.Repmgr) string {
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

// Options tunes the verdict.
type Options struct {
	// MaxLag is the replication lag above which the cluster is degraded.
	MaxLag time.Duration
}

// ClusterStatusOf asks every reachable node in parallel and judges the
// cluster. hosts lacks the nodes that could not be reached; unreachable
// holds their connection errors.
func ClusterStatusOf(ctx context.Context, inv *inventory.Inventory, hosts map[string]remote.Host, unreachable map[string]error, bins desired.CheckBinaries, opts Options) *ClusterStatus {
	cs := &ClusterStatus{VIP: inv.Keepalived.VirtualIPAddress, Nodes: make([]NodeStatus, len(inv.Nodes))}
	// Every node's answer, errors included: each is a row of the status.
	var wg sync.WaitGroup
	for i, n := range inv.Nodes {
		if err, ok := unreachable[n.Name]; ok {
			cs.Nodes[i] = unknownRow(n, err.Error())
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

// FromFacts judges the cluster from facts already gathered (a plan's), as
// ClusterStatusOf judges the answers it reads: a node without facts was
// not asked; witness is the witness host's facts, nil when not read.
func FromFacts(inv *inventory.Inventory, nodes []cluster.NodeFacts, witness *probe.Facts, opts Options) *ClusterStatus {
	cs := &ClusterStatus{VIP: inv.Keepalived.VirtualIPAddress}
	for _, n := range nodes {
		if n.Facts == nil {
			cs.Nodes = append(cs.Nodes, unknownRow(n.Node, "not asked"))
			continue
		}
		cs.Nodes = append(cs.Nodes, nodeStatusFromFacts(inv, n.Node, n.Facts))
	}
	if inv.HasWitness() {
		w := inv.WitnessNode()
		cs.Witness = &WitnessStatus{Node: w.Name, Address: w.Address, Container: "unknown", Seen: "unknown"}
		if witness != nil {
			cs.Witness.from(witness)
		}
	}
	finishStatus(cs, opts)
	return cs
}

// finishStatus completes the witness's row from the primary's answers, then
// judges the cluster.
func finishStatus(cs *ClusterStatus, opts Options) {
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
func tlsCertificateOf(inv *inventory.Inventory, f *probe.Facts, now time.Time) *TLSCertificate {
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

// from fills the witness's row from its host's answers.
func (w *WitnessStatus) from(f *probe.Facts) {
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
