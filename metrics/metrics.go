// Package metrics renders haup's view of one node in the Prometheus text
// format, for node_exporter's textfile collector: what the node's agent
// knows of itself, under the names `haup status --json` gives the same
// facts (Families maps each metric to its field).
package metrics

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// Family is one metric.
type Family struct {
	Name string
	// Labels are the metric's own labels; every sample also carries
	// node, the node's name.
	Labels []string
	// JSON are the fields of a node in `haup status --json` (paths under
	// nodes[]) the metric carries; none for a fact of the file itself.
	JSON []string
	Help string
}

// Type is every family's type: each is a value observed at write time.
const Type = "gauge"

// Families are the metrics, in the order they are written.
var Families = []Family{
	{Name: "haup_role", Labels: []string{"role"}, JSON: []string{"role"}, Help: "The database's role: 1 for the current one of primary, standby, down (it does not answer) and unknown (its facts could not be read)."},
	{Name: "haup_timeline", JSON: []string{"timeline"}, Help: "The database's timeline; absent while it does not answer."},
	{Name: "haup_holds_vip", JSON: []string{"holds_vip"}, Help: "1 when this node carries the VIP."},
	{Name: "haup_last_check_pass", JSON: []string{"last_check.pass"}, Help: "1 when keepalived's last run of the check passed (only the writable primary passes)."},
	{Name: "haup_last_check_code", Labels: []string{"code"}, JSON: []string{"last_check.code"}, Help: "The reason code of keepalived's last run of the check (primary, standby, local-down, stale, split-brain, isolated, read-only, fenced, unsettled, memory-unreadable)."},
	{Name: "haup_last_check_duration_seconds", JSON: []string{"last_check.duration_ms"}, Help: "How long keepalived's last run of the check took, actions included."},
	{Name: "haup_last_check_timestamp_seconds", JSON: []string{"last_check.at"}, Help: "When keepalived last ran the check (Unix time)."},
	{Name: "haup_last_check_sync", Labels: []string{"state"}, JSON: []string{"last_check.sync"}, Help: "Zero-loss mode as the primary's last check left it: on, suspended (no standby streams), waiting (commits wait) or off."},
	{Name: "haup_last_check_fenced", JSON: []string{"last_check.fenced"}, Help: "1 while a fencing of this node is in force (it may not hold the VIP)."},
	{Name: "haup_last_check_isolated", JSON: []string{"last_check.isolated"}, Help: "1 when the primary sees neither a peer nor the witness (with a witness)."},
	{Name: "haup_replication_lag_bytes", Labels: []string{"peer"}, JSON: []string{"replication[].lag_bytes"}, Help: "How far replay trails the primary's WAL, per replication link (on a standby its WAL receiver, on the primary each standby)."},
	{Name: "haup_replication_lag_seconds", Labels: []string{"peer"}, JSON: []string{"replication[].lag_seconds"}, Help: "How old the last replayed transaction is, per replication link."},
	{Name: "haup_replication_streaming", Labels: []string{"peer"}, JSON: []string{"replication[].state"}, Help: "1 when the replication link streams."},
	{Name: "haup_diverged", JSON: []string{"diverged"}, Help: "Data directories kept aside (by fencings, rejoins and the container's start gate: diverged copies), to look at and delete."},
	{Name: "haup_promotion_allowed", Labels: []string{"code"}, JSON: []string{"promotion.allowed", "promotion.code"}, Help: "A standby's promotion gate: 1 when it may be promoted automatically (it holds every acknowledged write, or is within max_lag_on_failover), 0 when not; the code says why. Absent on a primary."},
	{Name: "haup_promotion_lag_bytes", JSON: []string{"promotion.lag_bytes"}, Help: "A standby's bytes behind the primary when it last streamed with the primary answering, as its promotion gate knows."},
	{Name: "haup_failover_paused", JSON: []string{"failover_paused"}, Help: "1 while repmgrd's automatic failover is paused on this node."},
	{Name: "haup_maintenance_until_timestamp_seconds", JSON: []string{"pause.until"}, Help: "While this node's automatic failover is paused for maintenance (haup pause): when the pause ends by itself (Unix time); absent otherwise."},
	{Name: "haup_repmgrd_running", JSON: []string{"repmgrd.running"}, Help: "1 when repmgrd runs beside the database (on a standby, what promotes it)."},
	{Name: "haup_repmgrd_upstream_last_seen_seconds", JSON: []string{"repmgrd.upstream_last_seen_s"}, Help: "How long ago repmgrd last reached its upstream; -1 when it has not since the database started."},
	{Name: "haup_port_closed", JSON: []string{"port_closed"}, Help: "1 while haup's fence closes the database port to other hosts."},
	{Name: "haup_last_failover_timestamp_seconds", JSON: []string{"last_failover"}, Help: "When repmgrd last promoted a standby by itself (Unix time, from repmgr's events)."},
	{Name: "haup_tls_certificate_days_left", JSON: []string{"tls_certificate.days_left"}, Help: "Whole days until the database's TLS certificate on this node expires (negative once it has); absent without database.tls."},
	{Name: "haup_agent_info", Labels: []string{"agent_version"}, JSON: []string{"agent_version"}, Help: "Always 1; the agent's version in its label."},
	{Name: "haup_database_info", Labels: []string{"postgresql", "timescaledb"}, JSON: []string{"postgresql", "timescaledb"}, Help: "Always 1; the database's PostgreSQL and TimescaleDB versions in its labels."},
	{Name: "haup_metrics_timestamp_seconds", Help: "When the agent wrote this file (Unix time): older than a minute, the agent no longer writes it."},
}

// Roles are the values of haup_role's label.
var Roles = []string{nodeapi.RolePrimary, nodeapi.RoleStandby, nodeapi.RoleDown, "unknown"}

// View is what one write of the file shows: the node's facts as the
// agent reads them (nodeprobe.DatabaseFacts), whether it holds the VIP, the
// agent's version and the time of the write.
type View struct {
	Node     string
	Facts    *probe.Facts
	HoldsVIP bool
	Agent    string
	At       time.Time
	// TLSNotAfter is when the node's database certificate expires, with
	// database.tls (nil without, or unreadable).
	TLSNotAfter *time.Time
}

type sample struct {
	labels []string // values, in the family's label order
	value  float64
}

// samples are family f's samples in v; none when v does not know it.
func (v View) samples(name string) []sample {
	f := v.Facts
	if f == nil {
		f = &probe.Facts{}
	}
	db, last := f.Database, f.LastCheck
	one := func(x float64) []sample { return []sample{{value: x}} }
	switch name {
	case "haup_role":
		role := "unknown"
		if db != nil && db.Role != "" {
			role = db.Role
		}
		var out []sample
		for _, r := range Roles {
			out = append(out, sample{[]string{r}, b2f(r == role)})
		}
		return out
	case "haup_timeline":
		if db != nil && db.Timeline > 0 {
			return one(float64(db.Timeline))
		}
	case "haup_holds_vip":
		return one(b2f(v.HoldsVIP))
	case "haup_last_check_pass":
		if last != nil {
			return one(b2f(last.Pass))
		}
	case "haup_last_check_code":
		if last != nil && last.Code != "" {
			return []sample{{[]string{last.Code}, 1}}
		}
	case "haup_last_check_duration_seconds":
		if last != nil && last.DurationMS > 0 {
			return one(last.DurationMS / 1000)
		}
	case "haup_last_check_timestamp_seconds":
		if last != nil && !last.At.IsZero() {
			return one(unix(last.At))
		}
	case "haup_last_check_sync":
		if last != nil && last.Sync != "" {
			word, _, _ := strings.Cut(last.Sync, ":")
			return []sample{{[]string{word}, 1}}
		}
	case "haup_last_check_fenced":
		if last != nil {
			return one(b2f(last.Fenced))
		}
	case "haup_last_check_isolated":
		if last != nil {
			return one(b2f(last.Isolated))
		}
	case "haup_replication_lag_bytes", "haup_replication_lag_seconds", "haup_replication_streaming":
		if db == nil {
			return nil
		}
		var out []sample
		seen := map[string]int{}
		for _, r := range db.Replication {
			// Two links from one address (two standbys behind one NAT)
			// stay two series: a repeated one would void the whole file.
			peer := r.Peer
			if seen[peer]++; seen[peer] > 1 {
				peer += "#" + strconv.Itoa(seen[r.Peer])
			}
			x := float64(r.LagBytes)
			switch name {
			case "haup_replication_lag_seconds":
				x = r.LagSeconds
			case "haup_replication_streaming":
				x = b2f(r.State == "streaming")
			}
			out = append(out, sample{[]string{peer}, x})
		}
		return out
	case "haup_diverged":
		if f.Database != nil || f.DatabaseError == "" {
			return one(float64(len(f.Diverged)))
		}
	case "haup_promotion_allowed", "haup_promotion_lag_bytes":
		g := f.Gate
		if g == nil || db == nil || db.Role == nodeapi.RolePrimary {
			return nil
		}
		ok, code, _ := g.Allows(v.At, nil)
		if name == "haup_promotion_lag_bytes" {
			return one(float64(g.LagBytes))
		}
		return []sample{{[]string{string(code)}, b2f(ok)}}
	case "haup_failover_paused":
		if db != nil && db.Role != nodeapi.RoleDown {
			return one(b2f(db.FailoverPaused))
		}
	case "haup_maintenance_until_timestamp_seconds":
		if db != nil && db.Pause.Maintenance() {
			return one(unix(db.Pause.Until))
		}
	case "haup_repmgrd_running":
		if db != nil && db.Repmgrd != nil {
			return one(b2f(db.Repmgrd.Running))
		}
	case "haup_repmgrd_upstream_last_seen_seconds":
		if db != nil && db.Repmgrd != nil {
			return one(float64(db.Repmgrd.UpstreamLastSeenS))
		}
	case "haup_port_closed":
		if db != nil {
			return one(b2f(db.PortClosed != nil))
		}
	case "haup_last_failover_timestamp_seconds":
		if db != nil && db.LastFailover != nil {
			return one(unix(*db.LastFailover))
		}
	case "haup_tls_certificate_days_left":
		if v.TLSNotAfter != nil {
			d := v.TLSNotAfter.Sub(v.At)
			days := math.Floor(d.Hours() / 24)
			return one(days)
		}
	case "haup_agent_info":
		return []sample{{[]string{v.Agent}, 1}}
	case "haup_database_info":
		if db != nil && db.PostgreSQL != "" {
			return []sample{{[]string{db.PostgreSQL, db.TimescaleDB}, 1}}
		}
	case "haup_metrics_timestamp_seconds":
		return one(unix(v.At))
	default:
		panic("metrics: no family " + name)
	}
	return nil
}

// Render writes v in the Prometheus text format (version 0.0.4).
func Render(w io.Writer, v View) error {
	var b bytes.Buffer
	for _, fam := range Families {
		ss := v.samples(fam.Name)
		if len(ss) == 0 {
			continue
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", fam.Name, escapeHelp(fam.Help), fam.Name, Type)
		for _, s := range ss {
			b.WriteString(fam.Name)
			b.WriteString(`{node="`)
			b.WriteString(escapeLabel(v.Node))
			b.WriteByte('"')
			for i, l := range fam.Labels {
				fmt.Fprintf(&b, `,%s="%s"`, l, escapeLabel(s.labels[i]))
			}
			b.WriteString("} ")
			b.WriteString(formatValue(s.value))
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteFile writes v to dir/nodeapi.MetricsFileName atomically: a temporary file in dir
// (a name the collector does not read), mode 0644, renamed over it, so a
// scrape sees the whole old file or the whole new one.
func WriteFile(dir string, v View) error {
	var b bytes.Buffer
	if err := Render(&b, v); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+nodeapi.MetricsFileName+".*.tmp")
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b.Bytes())
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, nodeapi.MetricsFileName))
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func formatValue(x float64) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "+Inf"
	case math.IsInf(x, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
