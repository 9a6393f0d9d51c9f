package tasks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/inventory"
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
	HoldsVIP   bool   `json:"holds_vip"`
	Role       string `json:"role"`
	Timeline   int    `json:"timeline,omitempty"`
	// Container is the container's state and image.
	Container      string                    `json:"container"`
	Image          string                    `json:"image,omitempty"`
	Replication    []healthcheck.Replication `json:"replication,omitempty"`
	Repmgr         []healthcheck.RepmgrNode  `json:"repmgr,omitempty"`
	LastCheck      *healthcheck.Report       `json:"last_check,omitempty"`
	LastCheckAgeS  float64                   `json:"last_check_age_s,omitempty"`
	StatusError    string                    `json:"status_error,omitempty"`
	KeepalivedNote string                    `json:"keepalived_note,omitempty"`
}

// ClusterStatus is the whole cluster with its verdict.
type ClusterStatus struct {
	Verdict string       `json:"verdict"`
	Reasons []string     `json:"reasons"`
	Primary string       `json:"primary,omitempty"`
	VIP     string       `json:"vip"`
	Nodes   []NodeStatus `json:"nodes"`
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

func statusScript(inv *inventory.Inventory, node inventory.Node) string {
	name := shq(inv.Database.ContainerName)
	return fmt.Sprintf(`exec 2>/dev/null
echo "@@haup vrrp"; cat %s
echo "@@haup service"; systemctl is-active keepalived
echo "@@haup vip"; ip -o -4 addr show dev %s
echo "@@haup container"; docker container inspect --format '{{.State.Status}} {{.Config.Image}}' %s
echo "@@haup last"; cat %s; echo; date +%%s
echo "@@haup status"; [ -x %s ] && %s -status repmgr
echo "@@haup end"
exit 0
`, shq(VRRPStatePath), shq(node.Interface), name, shq(healthcheck.StatePath),
		shq(healthcheck.BinaryPath), shq(healthcheck.BinaryPath))
}

// sections splits the output of a status or gather script.
func sections(out []byte) map[string][]string {
	s := map[string][]string{}
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "@@haup "); ok {
			cur = name
			s[cur] = nil
			continue
		}
		if cur != "" {
			s[cur] = append(s[cur], sc.Text())
		}
	}
	return s
}

// NodeStatusOf reads one node's status in one round trip.
func NodeStatusOf(ctx context.Context, h remote.Host, inv *inventory.Inventory, node inventory.Node) NodeStatus {
	ns := NodeStatus{Node: node.Name, Address: node.Address, Role: healthcheck.RoleDown, Container: "absent"}
	res, err := h.Exec(ctx, statusScript(inv, node))
	if err != nil {
		ns.Error = err.Error()
		return ns
	}
	ns.Reachable = true
	s := sections(res.Stdout)
	if v := s["vrrp"]; len(v) > 0 && v[0] != "" {
		ns.Keepalived = strings.Fields(v[0])[0]
	}
	if sv := s["service"]; len(sv) > 0 && sv[0] != "active" {
		ns.Keepalived = "not running (" + sv[0] + ")"
	} else if ns.Keepalived == "" {
		ns.Keepalived = "unknown"
	}
	vip := vipAddr(inv)
	for _, l := range s["vip"] {
		if strings.Contains(l, " "+vip+"/") {
			ns.HoldsVIP = true
		}
	}
	if c := s["container"]; len(c) > 0 && c[0] != "" {
		f := strings.Fields(c[0])
		ns.Container = f[0]
		if len(f) > 1 {
			ns.Image = f[1]
		}
	}
	if l := s["last"]; len(l) >= 2 {
		var r healthcheck.Report
		if json.Unmarshal([]byte(l[0]), &r) == nil && !r.At.IsZero() {
			ns.LastCheck = &r
			if now, err := strconv.ParseInt(strings.TrimSpace(l[len(l)-1]), 10, 64); err == nil {
				ns.LastCheckAgeS = float64(now) - float64(r.At.Unix())
			}
		}
	}
	if st := strings.Join(s["status"], "\n"); strings.TrimSpace(st) != "" {
		var sr healthcheck.StatusReport
		if err := json.Unmarshal([]byte(st), &sr); err == nil {
			ns.Role, ns.Timeline = sr.Role, sr.Timeline
			ns.Replication, ns.Repmgr, ns.StatusError = sr.Replication, sr.Repmgr, sr.StatusError
			if sr.Role == healthcheck.RoleDown {
				ns.StatusError = sr.Reason
			}
		}
	}
	switch {
	case ns.Keepalived == "FAULT" && ns.Role == healthcheck.RoleStandby:
		ns.KeepalivedNote = "normal on a standby: its check fails so it never takes the VIP"
	case ns.Keepalived == "MASTER" && ns.Role == healthcheck.RolePrimary:
		ns.KeepalivedNote = "holds the VIP as the primary"
	case ns.Keepalived == "BACKUP" && ns.Role == healthcheck.RolePrimary:
		ns.KeepalivedNote = "check passes; waiting to take the VIP"
	}
	return ns
}

// StatusOptions tunes the verdict.
type StatusOptions struct {
	// MaxLag is the replication lag above which the cluster is degraded.
	MaxLag time.Duration
}

// ClusterStatusOf asks every reachable node in parallel and judges the
// cluster. hosts lacks the nodes that could not be reached; unreachable
// holds their connection errors.
func ClusterStatusOf(ctx context.Context, inv *inventory.Inventory, hosts Hosts, unreachable map[string]error, opts StatusOptions) *ClusterStatus {
	cs := &ClusterStatus{VIP: inv.Keepalived.VirtualIPAddress, Nodes: make([]NodeStatus, len(inv.Nodes))}
	var wg sync.WaitGroup
	for i, n := range inv.Nodes {
		if err, ok := unreachable[n.Name]; ok {
			cs.Nodes[i] = NodeStatus{Node: n.Name, Address: n.Address, Error: err.Error(), Role: healthcheck.RoleDown, Keepalived: "unknown", Container: "unknown"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs.Nodes[i] = NodeStatusOf(ctx, hosts[n.Name], inv, n)
		}()
	}
	wg.Wait()
	judge(cs, opts)
	return cs
}

func judge(cs *ClusterStatus, opts StatusOptions) {
	var critical, degraded []string
	var primaries, holders []string
	for _, n := range cs.Nodes {
		if n.Role == healthcheck.RolePrimary {
			primaries = append(primaries, n.Node)
		}
		if n.HoldsVIP {
			holders = append(holders, n.Node)
		}
	}
	sort.Strings(primaries)
	switch len(primaries) {
	case 0:
		critical = append(critical, "no primary: no database answers as primary")
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
	for _, n := range cs.Nodes {
		switch {
		case !n.Reachable:
			degraded = append(degraded, n.Node+" is unreachable")
			continue
		case n.Role == healthcheck.RoleDown:
			degraded = append(degraded, n.Node+"'s database is down")
		}
		if strings.HasPrefix(n.Keepalived, "not running") {
			degraded = append(degraded, n.Node+": keepalived is not running")
		}
		if n.Role != healthcheck.RoleStandby {
			continue
		}
		if len(n.Replication) == 0 || n.Replication[0].State != "streaming" {
			state := "stopped"
			if len(n.Replication) > 0 {
				state = n.Replication[0].State
			}
			degraded = append(degraded, fmt.Sprintf("%s: replication is %s", n.Node, state))
		} else if lag := n.Replication[0].LagSeconds; opts.MaxLag > 0 && lag > opts.MaxLag.Seconds() && n.Replication[0].LagBytes > 0 {
			degraded = append(degraded, fmt.Sprintf("%s: replication lags %.0f s (over %s)", n.Node, lag, opts.MaxLag))
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
	}
}

// Print writes the status table and the verdict line.
func (cs *ClusterStatus) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tREACHABLE\tKEEPALIVED\tVIP\tROLE\tTIMELINE\tREPLICATION\tCONTAINER\tLAST CHECK")
	for _, n := range cs.Nodes {
		reach := "yes"
		if !n.Reachable {
			reach = "no"
		}
		vip := "-"
		if n.HoldsVIP {
			vip = "yes"
		}
		tl := "-"
		if n.Timeline > 0 {
			tl = strconv.Itoa(n.Timeline)
		}
		repl := "-"
		switch {
		case n.Role == healthcheck.RoleStandby && len(n.Replication) > 0:
			r := n.Replication[0]
			repl = fmt.Sprintf("%s from %s, lag %d B, last replay %.0fs ago", r.State, r.Peer, r.LagBytes, r.LagSeconds)
		case n.Role == healthcheck.RoleStandby:
			repl = "not replicating"
		case n.Role == healthcheck.RolePrimary:
			repl = fmt.Sprintf("%d standby connected", len(n.Replication))
		}
		container := n.Container
		if n.Image != "" {
			container += " (" + n.Image + ")"
		}
		last := "-"
		if n.LastCheck != nil {
			verdict := "fail"
			if n.LastCheck.Pass {
				verdict = "pass"
			}
			last = fmt.Sprintf("%s %.0fs ago: %s", verdict, n.LastCheckAgeS, n.LastCheck.Reason)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Node, reach, n.Keepalived, vip, n.Role, tl, repl, container, last)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, n := range cs.Nodes {
		if n.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", n.Node, n.Error)
		}
		if n.KeepalivedNote != "" {
			fmt.Fprintf(w, "%s: keepalived %s: %s\n", n.Node, n.Keepalived, n.KeepalivedNote)
		}
		if len(n.Repmgr) > 0 {
			var parts []string
			for _, r := range n.Repmgr {
				p := r.Name + " " + r.Type
				if !r.Active {
					p += " (inactive)"
				}
				parts = append(parts, p)
			}
			fmt.Fprintf(w, "%s: repmgr sees %s\n", n.Node, strings.Join(parts, ", "))
		}
	}
	fmt.Fprintf(w, "\nVerdict: %s: %s\n", cs.Verdict, strings.Join(cs.Reasons, "; "))
}
