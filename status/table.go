package status

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/haup-project/haup/nodeapi"
)

// DefaultWidth is the width the status table fits when the output does not
// say its own (not a terminal, no COLUMNS).
const DefaultWidth = 80

// TableOptions lays out the status table.
type TableOptions struct {
	// Width is the number of columns the table may fill; 0 is
	// DefaultWidth. The core columns are always shown; the others are
	// added, by priority, while the table still fits.
	Width int
	// Wide shows every column whatever the width (-o wide).
	Wide bool
}

// statusColumn is one column of the status table.
type statusColumn struct {
	name string
	// priority 0 is a core column, always shown; the others are added in
	// increasing priority while they fit.
	priority int
	cell     func(cs *ClusterStatus, n *NodeStatus, wide bool) string
}

// statusColumns are the table's columns in display order: the core ones
// are what an operator scans (who is primary, who holds the VIP, is the
// standby behind, does the check pass); the long facts come last in
// priority. --json carries all of them in full.
func statusColumns() []statusColumn {
	return []statusColumn{
		{"NODE", 0, func(_ *ClusterStatus, n *NodeStatus, _ bool) string { return n.Node }},
		{"ROLE", 0, roleCell},
		{"VIP", 0, func(_ *ClusterStatus, n *NodeStatus, _ bool) string { return yesDash(n.HoldsVIP) }},
		{"KEEPALIVED", 0, func(_ *ClusterStatus, n *NodeStatus, _ bool) string { return n.Keepalived }},
		{"TL", 0, func(_ *ClusterStatus, n *NodeStatus, _ bool) string {
			if n.Timeline > 0 {
				return strconv.Itoa(n.Timeline)
			}
			return "-"
		}},
		{"LAG", 0, lagCell},
		{"CHECK", 0, checkCell},
		{"CONTAINER", 1, func(_ *ClusterStatus, n *NodeStatus, _ bool) string { return n.Container }},
		{"REPLICATION", 3, replicationCell},
		{"VERSIONS", 2, versionsCell},
		{"CHECK REASON", 4, func(_ *ClusterStatus, n *NodeStatus, _ bool) string {
			if n.LastCheck == nil || n.LastCheck.Reason == "" {
				return "-"
			}
			return n.LastCheck.Reason
		}},
		{"IMAGE", 5, func(_ *ClusterStatus, n *NodeStatus, _ bool) string { return orDash(n.Image) }},
	}
}

func yesDash(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

// roleCell is the database role; a node haup could not reach has none to
// show (its JSON role stays "unknown").
func roleCell(_ *ClusterStatus, n *NodeStatus, _ bool) string {
	if !n.Reachable {
		return "unreachable"
	}
	return n.Role
}

// lagCell is how far a standby is behind: the bytes of WAL it has yet to
// replay (as its primary sees it when the primary names it, else as it
// sees itself), and the replay delay only when there is WAL still to
// replay. An idle standby is "0 B": the age of its last replayed
// transaction is not lag when nothing was written since.
func lagCell(cs *ClusterStatus, n *NodeStatus, _ bool) string {
	if n.Role != nodeapi.RoleStandby {
		return "-"
	}
	if len(n.Replication) == 0 {
		return "not replicating"
	}
	r := n.Replication[0]
	if r.State != "streaming" {
		return r.State
	}
	behind, delay := r.LagBytes, 0.0
	if r.LagBytes > 0 {
		// WAL received and not yet replayed: the last replayed
		// transaction's age is how late replay runs.
		delay = r.LagSeconds
	}
	if pb, ps, ok := primaryView(cs, n); ok && pb > behind {
		behind = pb
		if r.LagBytes <= 0 {
			delay = ps
		}
	}
	if behind <= 0 {
		return "0 B"
	}
	if delay >= 1 {
		return formatBytes(behind) + ", " + formatSeconds(delay)
	}
	return formatBytes(behind)
}

// primaryView is the primary's replication row for standby n: how far its
// replay trails the primary's WAL, and the primary's replay_lag.
func primaryView(cs *ClusterStatus, n *NodeStatus) (bytes int64, seconds float64, ok bool) {
	for i := range cs.Nodes {
		p := &cs.Nodes[i]
		if p.Role != nodeapi.RolePrimary || p.Node == n.Node {
			continue
		}
		for _, r := range p.Replication {
			peer, _, _ := strings.Cut(r.Peer, "/")
			if peer != "" && (peer == n.dbAddress || peer == n.Address) {
				return r.LagBytes, r.LagSeconds, true
			}
		}
	}
	return 0, 0, false
}

// formatBytes writes n in IEC units: 0 B, 512 B, 1.5 KiB, 16 MiB.
func formatBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	unit := ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		v, unit = v/1024, u
		if v < 1024 {
			break
		}
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " " + unit
}

// formatSeconds writes whole seconds as a duration: 3s, 2m5s, 1h0m7s.
func formatSeconds(s float64) string {
	return (time.Duration(s+0.5) * time.Second).String()
}

// checkCell is the last health check's verdict; its age only when it is
// stale (the check stopped running) or in the wide table.
func checkCell(_ *ClusterStatus, n *NodeStatus, wide bool) string {
	if n.LastCheck == nil {
		return "-"
	}
	v := "fail"
	if n.LastCheck.Pass {
		v = "pass"
	}
	if wide || n.CheckNote != "" {
		v += fmt.Sprintf(" %.0fs ago", n.LastCheckAgeS)
	}
	return v
}

func replicationCell(_ *ClusterStatus, n *NodeStatus, _ bool) string {
	switch {
	case n.Role == nodeapi.RoleStandby && len(n.Replication) > 0:
		r := n.Replication[0]
		return r.State + " from " + orDash(r.Peer)
	case n.Role == nodeapi.RoleStandby:
		return "not replicating"
	case n.Role == nodeapi.RolePrimary:
		return fmt.Sprintf("%d standby connected", len(n.Replication))
	}
	return "-"
}

// versionsCell is PostgreSQL's, TimescaleDB's and keepalived's versions.
func versionsCell(_ *ClusterStatus, n *NodeStatus, _ bool) string {
	var parts []string
	if n.PostgreSQL != "" {
		parts = append(parts, "pg "+n.PostgreSQL, "ts "+orDash(n.TimescaleDB))
	}
	if n.KeepalivedVersion != "" {
		parts = append(parts, "keepalived "+n.KeepalivedVersion)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// statusTable is the table's text cell by cell, before layout: a watch
// frame compares it with the previous frame's.
type statusTable struct {
	header []string
	rows   [][]string
	// nodes name the rows.
	nodes []string
}

// tableGap separates columns.
const tableGap = 2

// buildTable chooses the columns that fit o.Width (all of them when
// o.Wide) and fills them. reserve is added to every column's width when
// fitting (room for a change mark).
func buildTable(cs *ClusterStatus, o TableOptions, reserve int) statusTable {
	width := o.Width
	if width <= 0 {
		width = DefaultWidth
	}
	cols := statusColumns()
	cells := make([][]string, len(cols))
	colWidth := make([]int, len(cols))
	for c, col := range cols {
		colWidth[c] = utf8.RuneCountInString(col.name) + reserve
		for i := range cs.Nodes {
			v := col.cell(cs, &cs.Nodes[i], o.Wide)
			cells[c] = append(cells[c], v)
			colWidth[c] = max(colWidth[c], utf8.RuneCountInString(v)+reserve)
		}
	}
	show := make([]bool, len(cols))
	used := -tableGap
	for c, col := range cols {
		if col.priority == 0 || o.Wide {
			show[c] = true
			used += colWidth[c] + tableGap
		}
	}
	if !o.Wide {
		// By priority, up to the first column that does not fit: a column
		// is shown only with every one before it, so the table changes
		// with the width alone, the same way whatever the cells hold.
	add:
		for p := 1; p <= len(cols); p++ {
			for c, col := range cols {
				if col.priority != p {
					continue
				}
				if used+tableGap+colWidth[c] > width {
					break add
				}
				show[c] = true
				used += tableGap + colWidth[c]
			}
		}
	}
	var t statusTable
	for c, col := range cols {
		if show[c] {
			t.header = append(t.header, col.name)
		}
	}
	for i, n := range cs.Nodes {
		var row []string
		for c := range cols {
			if show[c] {
				row = append(row, cells[c][i])
			}
		}
		t.rows = append(t.rows, row)
		t.nodes = append(t.nodes, n.Node)
	}
	return t
}

// cellStyle marks a changed cell: ANSI reverse video on a terminal, a
// trailing "*" elsewhere, nothing when there is no earlier frame.
type cellStyle int

const (
	styleNone cellStyle = iota
	styleMark
	styleANSI
)

const (
	ansiReverse = "\x1b[7m"
	ansiReset   = "\x1b[0m"
)

// writeTable lays t out in columns separated by two spaces, without
// trailing blanks. changed[i][c] marks row i's cell c in style; eol ends
// each line.
func writeTable(w io.Writer, t statusTable, changed [][]bool, style cellStyle, eol string) {
	text := func(i, c int) (string, bool) {
		v := t.rows[i][c]
		ch := changed != nil && changed[i][c]
		if ch && style == styleMark {
			v += "*"
		}
		return v, ch
	}
	widths := make([]int, len(t.header))
	for c, h := range t.header {
		widths[c] = utf8.RuneCountInString(h)
		for i := range t.rows {
			v, _ := text(i, c)
			widths[c] = max(widths[c], utf8.RuneCountInString(v))
		}
	}
	line := func(cells func(c int) (string, bool)) {
		var b strings.Builder
		for c := range t.header {
			v, ch := cells(c)
			if ch && style == styleANSI {
				b.WriteString(ansiReverse + v + ansiReset)
			} else {
				b.WriteString(v)
			}
			if c < len(t.header)-1 {
				b.WriteString(strings.Repeat(" ", widths[c]-utf8.RuneCountInString(v)+tableGap))
			}
		}
		io.WriteString(w, strings.TrimRight(b.String(), " ")+eol)
	}
	line(func(c int) (string, bool) { return t.header[c], false })
	for i := range t.rows {
		line(func(c int) (string, bool) { return text(i, c) })
	}
}

// Print writes the status table laid out by o, the notes on each node and
// the verdict line.
func (cs *ClusterStatus) Print(w io.Writer, o TableOptions) {
	writeTable(w, buildTable(cs, o, 0), nil, styleNone, "\n")
	fmt.Fprintln(w)
	cs.printNotes(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, cs.verdictLine())
}

// verdictLine is the last line of the status: scripts and the end-to-end
// tests read it.
func (cs *ClusterStatus) verdictLine() string {
	return fmt.Sprintf("Verdict: %s: %s", cs.Verdict, strings.Join(cs.Reasons, "; "))
}

// printNotes writes what the table does not say about each node (errors,
// fencing, locks, repmgr's view) and the witness, one line each.
func (cs *ClusterStatus) printNotes(w io.Writer) {
	for _, n := range cs.Nodes {
		if n.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", n.Node, n.Error)
		}
		if n.StatusError != "" {
			fmt.Fprintf(w, "%s: %s\n", n.Node, n.StatusError)
		}
		if n.CheckNote != "" {
			fmt.Fprintf(w, "%s: %s\n", n.Node, n.CheckNote)
		}
		if pc := n.PortClosed; pc != nil {
			fmt.Fprintf(w, "%s: database port %d closed to other hosts since %s: %s\n", n.Node, pc.Port, pc.At.Format("2006-01-02 15:04:05Z"), pc.Reason)
		}
		if n.Fence != nil {
			fmt.Fprintf(w, "%s: fenced since %s (%s): %s\n", n.Node, n.Fence.At.Format("2006-01-02 15:04:05Z"), n.Fence.State, n.Fence.Reason)
			if n.Fence.Error != "" {
				fmt.Fprintf(w, "%s: rejoin: %s\n", n.Node, n.Fence.Error)
			}
		}
		for _, d := range n.Diverged {
			fmt.Fprintf(w, "%s: diverged data kept in %s\n", n.Node, d)
		}
		if c := n.TLSCertificate; c != nil && c.Error == "" {
			fmt.Fprintf(w, "%s: TLS certificate valid until %s (%d days)\n", n.Node, c.NotAfter.Format("2006-01-02"), c.DaysLeft)
		}
		if p := n.Promotion; p != nil && n.Role != nodeapi.RolePrimary {
			fmt.Fprintf(w, "%s: promotion gate (%s): %s\n", n.Node, p.Code, strings.TrimPrefix(strings.TrimPrefix(p.Reason, "promotion allowed: "), "promotion refused: "))
		}
		if n.Lock != nil {
			fmt.Fprintf(w, "%s: locked by %s (%s) since %s\n", n.Node, n.Lock.Holder, n.Lock.Command, n.Lock.Since.Format("15:04:05Z"))
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
		switch {
		case n.RepmgrdNote != "":
			fmt.Fprintf(w, "%s: %s\n", n.Node, n.RepmgrdNote)
		case n.Role == nodeapi.RoleStandby && n.Repmgrd != nil:
			fmt.Fprintf(w, "%s: repmgrd watches its upstream (last reached %d s ago): automatic failover armed\n", n.Node, n.Repmgrd.UpstreamLastSeenS)
		}
	}
	if ws := cs.Witness; ws != nil {
		reg := "not registered with repmgr"
		if ws.Registered {
			reg = "registered with repmgr"
		}
		fmt.Fprintf(w, "witness %s (%s): container %s; the primary's check reaches its database: %s; %s\n",
			ws.Node, ws.Address, ws.Container, ws.Seen, reg)
		if ws.Error != "" {
			fmt.Fprintf(w, "witness %s: %s\n", ws.Node, ws.Error)
		}
	}
}
