package tasks

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/status"
)

// Style colours plan output; the zero value prints plain text.
type Style struct{ Color bool }

func (s Style) paint(code, text string) string {
	if !s.Color {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s Style) op(o Op) string {
	switch o {
	case OpCreate:
		return s.paint("32", string(o))
	case OpUpdate:
		return s.paint("33", string(o))
	default:
		return s.paint("31", string(o))
	}
}

// Counts summarises a plan.
type Counts struct{ Create, Update, Replace, Delete, Blocked int }

// Count tallies the plan's changes.
func (p *Plan) Count() Counts {
	var c Counts
	for _, n := range p.All() {
		for _, ch := range n.Changes {
			switch ch.Op {
			case OpCreate:
				c.Create++
			case OpUpdate:
				c.Update++
			case OpReplace:
				c.Replace++
			case OpDelete:
				c.Delete++
			}
			if ch.Blocked != "" {
				c.Blocked++
			}
		}
	}
	return c
}

// Print writes the plan the way terraform plan does: a block per node, one
// line per change, diffs indented beneath, and a summary line.
func (p *Plan) Print(w io.Writer, st Style) {
	for _, n := range p.All() {
		role := ""
		if n == p.Witness {
			role = ", witness"
		}
		fmt.Fprintf(w, "%s (%s%s)\n", st.paint("1", n.Node.Name), n.Node.Address, role)
		if len(n.Changes) == 0 {
			fmt.Fprintln(w, "  no changes")
		}
		for _, c := range n.Changes {
			fmt.Fprintf(w, "  %s %s %s", st.op(c.Op), c.Kind, c.Name)
			if c.Summary != "" {
				fmt.Fprintf(w, ": %s", c.Summary)
			}
			fmt.Fprintln(w)
			if c.Blocked != "" {
				fmt.Fprintf(w, "      %s %s\n", st.paint("31", "! blocked:"), c.Blocked)
			}
			if c.Diff != "" {
				for _, l := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
					switch {
					case strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "+++"):
						l = st.paint("32", l)
					case strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "---"):
						l = st.paint("31", l)
					}
					fmt.Fprintf(w, "      %s\n", l)
				}
			}
		}
		fmt.Fprintln(w)
	}
	if order := p.Order(); len(order) > 0 {
		fmt.Fprintln(w, "Order of work:")
		for i, o := range order {
			fmt.Fprintf(w, "  %d. %s\n", i+1, o)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Note: %s.\n", inventory.PartitionNote(p.Inventory))
	if m := maintenanceNote(p, time.Now()); m != "" {
		fmt.Fprintf(w, "Note: %s.\n", m)
	}
	if m := keptNote(p); m != "" {
		fmt.Fprintf(w, "Note: %s.\n", m)
	}
	fmt.Fprintln(w)
	// Nothing to change is not "in sync" while the cluster is not healthy:
	// the plan's own answers judged as `haup status` judges them.
	if p.Empty() {
		if cs := p.Status(status.Options{MaxLag: status.DefaultMaxLag}); cs.Verdict != status.VerdictHealthy {
			fmt.Fprintf(w, "No changes to make, but the cluster is %s (nothing in it that apply changes; `haup status` shows it):\n", cs.Verdict)
			for _, r := range cs.Reasons {
				fmt.Fprintf(w, "  - %s\n", r)
			}
			return
		}
	}
	fmt.Fprintln(w, p.Summary())
}

// Summary is the plan's one-line summary.
func (p *Plan) Summary() string {
	c := p.Count()
	if c.Create+c.Update+c.Replace+c.Delete == 0 {
		return "No changes. The cluster matches the inventory."
	}
	s := fmt.Sprintf("Plan: %d to create, %d to change, %d to replace.", c.Create, c.Update, c.Replace)
	if c.Delete > 0 {
		s = fmt.Sprintf("Plan: %d to create, %d to change, %d to replace, %d to remove.", c.Create, c.Update, c.Replace, c.Delete)
	}
	if c.Blocked > 0 {
		s += fmt.Sprintf(" %d blocked (see above).", c.Blocked)
	}
	return s
}

// Status judges the cluster from the answers the plan was built on, as
// `haup status` judges the same answers (status.FromFacts): a plan with
// nothing to change says whether the cluster it leaves alone is healthy.
func (p *Plan) Status(opts status.Options) *status.ClusterStatus {
	var witness *Facts
	if p.Witness != nil {
		witness = p.Witness.Facts
	}
	return status.FromFacts(p.Inventory, p.nodeFacts(), witness, opts)
}
