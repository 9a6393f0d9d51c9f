package metrics

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	alertsFile = "../examples/alerts.yaml"
	docFile    = "../docs/operations/metrics.md"
)

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadAlerts(t *testing.T) []alertRule {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var out []alertRule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// TestAlertsShape: every alert has a severity, a summary and a runbook
// line pointing at its own section of the metrics page, which exists;
// every haup_ name in an expression is a metric the agent writes.
func TestAlertsShape(t *testing.T) {
	doc, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	rules := loadAlerts(t)
	if len(rules) == 0 {
		t.Fatal("no alerts")
	}
	nameRe := regexp.MustCompile(`haup_[a-z0-9_]+`)
	for _, r := range rules {
		if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
			t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
		}
		if r.Annotations["summary"] == "" {
			t.Errorf("%s: no summary", r.Alert)
		}
		anchor := strings.ToLower(r.Alert)
		if want := "docs/operations/metrics.md#" + anchor + ": "; !strings.HasPrefix(r.Annotations["runbook"], want) {
			t.Errorf("%s: runbook %q does not begin with %q", r.Alert, r.Annotations["runbook"], want)
		}
		if !strings.Contains(string(doc), "\n### "+r.Alert+"\n") {
			t.Errorf("%s: no section \"### %s\" in %s", r.Alert, r.Alert, docFile)
		}
		for _, n := range nameRe.FindAllString(r.Expr, -1) {
			if !slices.ContainsFunc(Families, func(f Family) bool { return f.Name == n }) {
				t.Errorf("%s: %s is not a metric the agent writes", r.Alert, n)
			}
		}
	}
}

// TestMetricsDocTable: the metrics page's table lists every metric with
// its labels and the `haup status --json` fields it carries, and nothing
// else.
func TestMetricsDocTable(t *testing.T) {
	doc, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(l, "| `haup_") {
			name := strings.Trim(strings.Split(l, "|")[1], " `")
			rows[name] = l
		}
	}
	for _, f := range Families {
		row, ok := rows[f.Name]
		if !ok {
			t.Errorf("%s: no row in %s", f.Name, docFile)
			continue
		}
		delete(rows, f.Name)
		cells := strings.Split(row, "|")
		if len(cells) < 5 {
			t.Errorf("%s: row %q: want | name | labels | status JSON | meaning |", f.Name, row)
			continue
		}
		labels := []string{"node"}
		labels = append(labels, f.Labels...)
		if got, want := strings.TrimSpace(cells[2]), "`"+strings.Join(labels, "`, `")+"`"; got != want {
			t.Errorf("%s: labels %s in the doc, want %s", f.Name, got, want)
		}
		var json []string
		for _, j := range f.JSON {
			json = append(json, "`nodes[]."+j+"`")
		}
		want := strings.Join(json, ", ")
		if want == "" {
			want = "none"
		}
		if got := strings.TrimSpace(cells[3]); got != want {
			t.Errorf("%s: status JSON %s in the doc, want %s", f.Name, got, want)
		}
	}
	for name := range rows {
		t.Errorf("%s: in %s but not a metric the agent writes", name, docFile)
	}
}

// TestPromtool: the shipped rules load and their tests pass, and the
// agent's files parse, with Prometheus's own promtool (Debian's
// prometheus package; scripts/deps.sh installs it).
func TestPromtool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs promtool: make test runs it (scripts/deps.sh installs the prometheus package)")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (scripts/deps.sh does)")
	}
	run := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(promtool, args...)
		if stdin != "" {
			f, err := os.Open(stdin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.Stdin = f
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s %s: %v\n%s", strings.Join(args, " "), stdin, err, out)
		}
	}
	run("", "check", "rules", alertsFile)
	run("", "test", "rules", "../examples/alerts_test.yaml")
	goldens, _ := filepath.Glob("testdata/*.prom")
	for _, g := range goldens {
		run(g, "check", "metrics")
	}
}
