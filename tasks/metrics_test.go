package tasks

import (
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"
	"github.com/haup-project/haup/inventory"
)

// TestMetricsPlan: turning metrics on plans the textfile directory (when
// missing) and the check's configuration with what the change does; once
// applied the plan is empty, whoever owns the directory.
func TestMetricsPlan(t *testing.T) {
	inv := fixture.Example(t)
	n := inv.Nodes[0]
	before, err := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	f := nodefacts.Converged(t, before, "primary")
	inv.Metrics = inventory.Metrics{TextfileDir: "/var/lib/prometheus/node-exporter", Enabled: true}
	d, err := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "metrics-plan.txt", []byte(planText(&Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, f, Options{})}})))

	on := nodefacts.Converged(t, d, "primary")
	on.Dirs["/var/lib/prometheus/node-exporter"] = FileFact{Exists: true, Mode: 0o750, UID: 112, GID: 118}
	if p := (&Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, on, Options{})}}); !p.Empty() {
		t.Errorf("metrics applied, still a plan:\n%s", planText(p))
	}
}
