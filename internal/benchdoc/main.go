// Command benchdoc writes docs/measurements.md from a bench results file:
// the flat JSON object `make bench` writes (BENCH_OUT, metric name to
// number, or to text for the figures in textFigures), stamped with the
// commit and the machine it was measured on.
//
//	go run ./internal/benchdoc -o docs/measurements.md docs/bench-results.json
//
// To publish a run of make bench (which writes numbers only), stamp it with
// the commit and the machine, keep the stamped file as the page's source,
// and write the page:
//
//	go run ./internal/benchdoc -commit $(git rev-parse --short HEAD) -machine "..." \
//	  -json docs/bench-results.json -o docs/measurements.md bench-results.json
//
// The stamp is read from the file's string fields "commit", "machine",
// "source" and "note"; the flags supply or replace them. A page without its
// commit and machine is not written. Every number in the file appears on the page: the known figures
// in their group with a label and unit, any other under "Other figures".
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "benchdoc: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchdoc", flag.ContinueOnError)
	commit := fs.String("commit", "", "the commit the figures were measured on (replaces the file's)")
	machine := fs.String("machine", "", "the machine they were measured on (replaces the file's)")
	source := fs.String("source", "", "how the figures were taken (replaces the file's)")
	note := fs.String("note", "", "a note printed under the stamp (replaces the file's)")
	out := fs.String("o", "", "write the page here instead of stdout")
	stamped := fs.String("json", "", "also write the stamped results (figures, commit, machine, source, note) here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: benchdoc [-commit C] [-machine M] [-o FILE] RESULTS_JSON")
	}
	in := fs.Arg(0)
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	r, err := parse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if *commit != "" {
		r.Commit = *commit
	}
	if *machine != "" {
		r.Machine = *machine
	}
	if *source != "" {
		r.Source = *source
	}
	if *note != "" {
		r.Note = *note
	}
	name := in
	if *stamped != "" {
		name = *stamped
	}
	page, err := render(r, name)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if *stamped != "" {
		if err := os.WriteFile(*stamped, r.JSON(), 0o644); err != nil {
			return err
		}
	}
	if *out == "" {
		_, err = stdout.Write(page)
		return err
	}
	return os.WriteFile(*out, page, 0o644)
}

// JSON is the results file with its stamp: one object, keys sorted.
func (r Results) JSON() []byte {
	all := map[string]any{}
	for k, v := range r.Figures {
		all[k] = v
	}
	for k, v := range r.Texts {
		all[k] = v
	}
	for k, v := range map[string]string{"commit": r.Commit, "machine": r.Machine, "source": r.Source, "note": r.Note} {
		if v != "" {
			all[k] = v
		}
	}
	b, _ := json.MarshalIndent(all, "", "  ")
	return append(b, '\n')
}

// Results is a bench results file: its figures and its stamp.
type Results struct {
	Commit, Machine, Source, Note string
	Figures                       map[string]float64
	// Texts are the figures that are text (textFigures).
	Texts map[string]string
}

// textFigures are the figures measured as text, not numbers; any other
// figure must be a number.
var textFigures = map[string]bool{
	"lab_keepalived_version": true,
	"lab_image_entrypoint":   true,
}

// stampFields are the string fields of a results file; every other field
// is a figure.
var stampFields = []string{"commit", "machine", "source", "note"}

func parse(b []byte) (Results, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Results{}, err
	}
	r := Results{Figures: map[string]float64{}, Texts: map[string]string{}}
	strs := map[string]*string{"commit": &r.Commit, "machine": &r.Machine, "source": &r.Source, "note": &r.Note}
	for k, v := range raw {
		if p, ok := strs[k]; ok {
			if err := json.Unmarshal(v, p); err != nil {
				return Results{}, fmt.Errorf("%s: want a string: %w", k, err)
			}
			continue
		}
		if textFigures[k] {
			var t string
			if err := json.Unmarshal(v, &t); err != nil {
				return Results{}, fmt.Errorf("%s: want text: %w", k, err)
			}
			r.Texts[k] = t
			continue
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return Results{}, fmt.Errorf("%s: want a number (only %s are text): %w", k, strings.Join(stampFields, ", "), err)
		}
		r.Figures[k] = f
	}
	return r, nil
}

// A figure is one metric of the bench, as the page names it.
type figure struct{ name, label string }

// A group is one table of the page.
type group struct {
	title, intro string
	figures      []figure
}

// faults and modes of the failover drills (e2e/bench_test.go), whose
// figures are drill_<fault>_<mode>_<what>.
var (
	faults = []figure{
		{"kill", "database container killed"},
		{"poweroff", "node powered off"},
		{"freeze", "postgres frozen (SIGSTOP)"},
	}
	modes     = []figure{{"async", "asynchronous"}, {"sync", "zero-loss"}}
	drillWhat = []figure{
		{"write_median_s", "first acknowledged write, median"},
		{"write_max_s", "first acknowledged write, max"},
		{"lost_acked_writes", "acknowledged writes lost"},
		{"dual_vip_s", "two VIP holders"},
		{"dual_primary_s", "two writable primaries"},
	}
)

// groups are the page's tables after the drills' matrix, in order.
var groups = []group{
	{"Failover: promotion to VIP and summary figures", "Over the asynchronous drills above unless said otherwise.", []figure{
		{"failover_drills", "drills per fault and mode"},
		{"failover_promoted_to_vip_s", "from the standby taking writes to the VIP on it, median"},
		{"failover_vip_median_s", "killed container: fault to the VIP on a writable primary, median"},
		{"failover_vip_max_s", "killed container: fault to the VIP on a writable primary, max"},
		{"failover_write_median_s", "killed container: first acknowledged write, median (the first drills' name for `failover_kill_write_median_s`)"},
		{"failover_write_max_s", "killed container: first acknowledged write, max (the first drills' name for `failover_kill_write_max_s`)"},
		{"failover_kill_write_median_s", "killed container: first acknowledged write, median"},
		{"failover_kill_write_max_s", "killed container: first acknowledged write, max"},
		{"failover_poweroff_write_median_s", "powered-off node: first acknowledged write, median"},
		{"failover_poweroff_write_max_s", "powered-off node: first acknowledged write, max"},
		{"failover_freeze_write_median_s", "frozen postgres: first acknowledged write, median"},
		{"failover_freeze_write_max_s", "frozen postgres: first acknowledged write, max"},
		{"dual_vip_holder_s", "two VIP holders, summed over every drill of both modes"},
	}},
	{"Zero-loss mode: what it costs", "", []figure{
		{"commit_latency_async_ms", "commit through the VIP, asynchronous, median"},
		{"commit_latency_sync_ms", "commit through the VIP, zero-loss, median"},
		{"sync_standby_kill_write_stall_s", "the only standby's database killed for 15 s: longest time without an acknowledged write"},
		{"sync_standby_poweroff_write_stall_s", "the only standby's node powered off for 15 s: longest time without an acknowledged write"},
	}},
	{"Double faults: the promotion gate and the start gate", "The standby away while writes are acknowledged (zero-loss: its database down 8 s; asynchronous: its WAL receiver stopped 3 s), then the primary's node powered off, then the standby's database back; a writer through the VIP records every acknowledged commit.", []figure{
		{"doublefault_sync_lost_acked_writes", "zero-loss: acknowledged writes lost (no automatic promotion; the old primary returns with them)"},
		{"doublefault_sync_nodedown_lost_acked_writes", "zero-loss, the standby's node powered off instead, and back first: acknowledged writes lost (not promoted at its boot)"},
		{"doublefault_async_lost_acked_writes", "asynchronous, within max_lag_on_failover: acknowledged writes lost"},
		{"doublefault_async_lost_span_s", "asynchronous: the lost writes span, seconds before the primary's loss"},
		{"doublefault_async_bound_s", "asynchronous: max_lag_on_failover.seconds the loss was held to"},
		{"diverged_copies_deleted", "the old primary's diverged data deleted when it came back (kept aside by its start gate)"},
	}},
	{"Switchover and rolling image change", "A writer through the VIP throughout.", []figure{
		{"switchover_write_outage_median_s", "switchover: write outage, median"},
		{"switchover_write_outage_max_s", "switchover: write outage, max"},
		{"switchover_lost_acked_writes", "switchover: acknowledged writes lost"},
		{"switchover_full_clones", "switchover: full clones of the old primary"},
		{"switchover_vip_unheld_s", "switchover: time no node held the VIP (the demoted primary keeps it until the target takes it), sampled every 100 ms"},
		{"upgrade_write_outage_s", "rolling image change: write outage (its one switchover)"},
	}},
	{"TLS", "`database.tls` on the lab (haup's CA), the end-to-end step `tls`.", []figure{
		{"tls_enable_apply_s", "turning TLS on in a running pair: the apply (a rolling change)"},
		{"tls_failover_write_s", "killed container with TLS: first acknowledged write (the writer verifies the VIP's certificate)"},
		{"tls_commit_latency_ms", "commit through the VIP over TLS, median (clear text: `commit_latency_async_ms`)"},
		{"cert_rotation_write_outage_s", "a new certificate under a writer opening a verified connection per write: longest time without an acknowledged write"},
	}},
	{"Partitions", "The primary cut off by `haup drill --fault partition` (every packet, VRRP too).", []figure{
		{"partition_nowitness_dual_vip_s", "no witness, 60 s cut: two VIP holders"},
		{"partition_nowitness_dual_writable_s", "no witness, 60 s cut: two writable primaries"},
		{"partition_nowitness_lost_acked_writes", "no witness, 60 s cut: acknowledged writes lost (set aside at the rejoin)"},
		{"partition_dual_vip_s", "witness, the primary cut off: two VIP holders"},
		{"partition_dual_writable_s", "witness, the primary cut off: two writable primaries"},
		{"partition_step_down_s", "witness, the primary cut off: the isolated primary refuses writes"},
		{"partition_witness_write_s", "witness, the primary cut off: first acknowledged write on the other side"},
		{"partition_lost_acked_writes", "witness, the primary cut off: acknowledged writes lost (the isolated side's last, set aside)"},
		{"witness_partition_step_down_s", "witness, 30 s cut in `make test`: the isolated primary refuses writes"},
	}},
	{"Fencing and cuts", "", []figure{
		{"fence_after_thaw_s", "primary frozen 30 s: thaw to refusing writes"},
		{"rejoin_after_thaw_s", "primary frozen 30 s: thaw to streaming again as a standby"},
		{"stale_commits", "writes a client connected straight to the frozen primary had acknowledged and the new primary lacks"},
		{"cut_vip_on_stale_s", "all but VRRP cut: promotion to the VIP on the promoted node"},
		{"cut_lost_acked_writes", "all but VRRP cut: acknowledged writes lost"},
		{"dbcut_promoted_to_vip_s", "database network alone cut: promotion to the VIP on the promoted node"},
		{"dbcut_lost_acked_writes", "database network alone cut: acknowledged writes lost"},
		{"repmgrd_stuck_vip_s", "primary frozen while the standby's repmgrd waits on a query to it: freeze to the VIP on the standby"},
		{"repmgrd_unanswered_reset_s", "packets of the standby repmgrd's connection dropped on a live primary: drop to the reset"},
	}},
	{"Saturated-primary soak", "pgbench with 64 clients, a CHECKPOINT every 10 s and a busy loop per CPU on the primary's node.", []figure{
		{"soak_seconds", "duration"},
		{"soak_false_failovers", "promotions"},
		{"soak_vip_moves", "VIP moves"},
		{"soak_repmgr_missed_checks", "the standby's repmgr checks unanswered"},
		{"soak_repmgrd_resets", "resets of repmgrd's connections by the check"},
	}},
	{"Health check", "300 runs each, exec included, against a database with TimescaleDB.", []figure{
		{"check_mean_ms", "haup-check: mean"},
		{"check_p99_ms", "haup-check: p99"},
		{"check_cpu_ms", "haup-check: CPU per run"},
		{"recipe_check_mean_ms", "the recipe's `docker exec ... psql` check: mean"},
		{"recipe_check_p99_ms", "the recipe's check: p99"},
		{"recipe_check_cpu_ms", "the recipe's check: CPU per run (client, dockerd, containerd)"},
	}},
	{"Apply, validation and the lab", "", []figure{
		{"greenfield_apply_s", "greenfield `haup apply`, 2 bare nodes to a working pair (image pull included)"},
		{"noop_apply_s", "no-op `haup apply`, 2 nodes"},
		{"noop_diff_s", "no-op `haup diff`, 2 nodes"},
		{"noop_ssh_connections_per_node", "SSH connections per node in a no-op apply"},
		{"noop_ssh_sessions_per_node", "SSH sessions per node in a no-op apply"},
		{"validate_50mb_s", "validation of a 50 MB inventory (refused)"},
		{"validate_50mb_peak_mib", "its peak memory"},
		{"validate_1mib_s", "validation of the worst 1 MiB inventory"},
		{"validate_1mib_peak_mib", "its peak memory"},
		{"lab_up_cold_s", "`haup lab up`, no caches"},
		{"lab_up_warm_s", "`haup lab up`, caches warm"},
		{"lab_keepalived_version", "keepalived the lab's nodes install from the lab mirror (`keepalived --version` after haup's install command)"},
		{"lab_image_entrypoint", "the lab image's entrypoint: bitnami's scripts, at their vendored commit"},
		{"lab_image_build_cold_s", "lab image build, repmgr and TimescaleDB compiled (debootstrap roots cached)"},
		{"lab_image_build_warm_s", "lab image re-imported from its caches"},
		{"lab_image_mib", "lab image size"},
		{"promotion_s", "lab image alone: promotion after the primary is killed (its own repmgr timings)"},
	}},
}

// unit is a figure's unit, from its name's suffix.
func unit(name string) string {
	switch {
	case strings.HasSuffix(name, "_ms"):
		return "ms"
	case strings.HasSuffix(name, "_mib"):
		return "MiB"
	case strings.HasSuffix(name, "_s"):
		return "s"
	}
	return ""
}

// format prints v with a precision fit for a measurement: two decimals
// below 10, one below 100, none above; trailing zeros dropped.
func format(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	d := 2
	switch a := math.Abs(v); {
	case a >= 100:
		d = 0
	case a >= 10:
		d = 1
	}
	p := math.Pow10(d)
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
}

func withUnit(name string, v float64) string {
	if u := unit(name); u != "" {
		return format(v) + " " + u
	}
	return format(v)
}

func render(r Results, source string) ([]byte, error) {
	if r.Commit == "" || r.Machine == "" {
		return nil, errors.New(`no "commit" or no "machine": a figure is published with the commit and machine it was measured on (-commit, -machine)`)
	}
	used := map[string]bool{}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!-- Generated from %s by `go run ./internal/benchdoc -o docs/measurements.md %s`; do not edit. -->\n\n", source, source)
	b.WriteString("# Measurements\n\n")
	fmt.Fprintf(&b, "Measured on commit `%s`, on %s.\n", r.Commit, r.Machine)
	if r.Source != "" {
		fmt.Fprintf(&b, "Source: %s.\n", strings.TrimSuffix(r.Source, "."))
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "\n%s\n", r.Note)
	}
	b.WriteString("\nWhat the figures mean and how they are taken: [operations/drills.md](operations/drills.md) " +
		"and [development/testing.md](development/testing.md); what they bound: the [concepts](concepts/).\n")

	// The drills: per mode, one row per fault, one column per figure.
	drills := false
	for _, m := range modes {
		var rows [][]string
		for _, f := range faults {
			row := []string{f.label + " (`" + f.name + "`)"}
			any := false
			for _, w := range drillWhat {
				name := "drill_" + f.name + "_" + m.name + "_" + w.name
				cell := "–"
				if v, ok := r.Figures[name]; ok {
					cell, any, used[name] = withUnit(name, v), true, true
				}
				row = append(row, cell)
			}
			if any {
				rows = append(rows, row)
			}
		}
		if len(rows) == 0 {
			continue
		}
		if !drills {
			drills = true
			b.WriteString("\n## Failover per fault and mode\n\n")
			n := "several"
			if v, ok := r.Figures["failover_drills"]; ok {
				n = format(v)
			}
			fmt.Fprintf(&b, "`haup drill` on the lab, %s drills per fault in each replication mode, a writer through the VIP. "+
				"Times run from the fault (for a power-off, from the node's link going down) to the first acknowledged write through the VIP; "+
				"lost writes, two VIP holders and two writable primaries are summed over the drills. "+
				"Figures `drill_<fault>_<mode>_<figure>`.\n", n)
		}
		fmt.Fprintf(&b, "\n### %s (`%s`)\n\n", strings.ToUpper(m.label[:1])+m.label[1:], m.name)
		head := []string{"fault (`<fault>`)"}
		for _, w := range drillWhat {
			head = append(head, w.label+" (`"+w.name+"`)")
		}
		table(&b, head, rows)
	}
	for _, g := range groups {
		var rows [][]string
		for _, f := range g.figures {
			if v, ok := r.Figures[f.name]; ok {
				rows = append(rows, []string{f.label, withUnit(f.name, v), "`" + f.name + "`"})
				used[f.name] = true
			} else if v, ok := r.Texts[f.name]; ok {
				rows = append(rows, []string{f.label, v, "`" + f.name + "`"})
				used[f.name] = true
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", g.title)
		if g.intro != "" {
			fmt.Fprintf(&b, "%s\n\n", g.intro)
		}
		table(&b, []string{"figure", "value", "name"}, rows)
	}
	var other []string
	for k := range r.Figures {
		if !used[k] {
			other = append(other, k)
		}
	}
	if len(other) > 0 {
		sort.Strings(other)
		var rows [][]string
		for _, k := range other {
			rows = append(rows, []string{"`" + k + "`", withUnit(k, r.Figures[k])})
		}
		b.WriteString("\n## Other figures\n\nFigures this page does not describe yet (add them to internal/benchdoc).\n\n")
		table(&b, []string{"name", "value"}, rows)
	}
	return b.Bytes(), nil
}

func table(b *bytes.Buffer, head []string, rows [][]string) {
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
}
