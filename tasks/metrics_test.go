package tasks

import (
	"reflect"
	"strings"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/metrics"
)

// TestMetricsPlan: turning metrics on plans the textfile directory (when
// missing) and the check's configuration with what the change does; once
// applied the plan is empty, whoever owns the directory.
func TestMetricsPlan(t *testing.T) {
	inv := loadExample(t)
	n := inv.Nodes[0]
	before, err := desired.DesiredState(inv, n, "amd64", fakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	f := convergedFacts(t, before, "primary")
	inv.Metrics = inventory.Metrics{TextfileDir: "/var/lib/prometheus/node-exporter", Enabled: true}
	d, err := desired.DesiredState(inv, n, "amd64", fakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "metrics-plan.txt", []byte(planText(&Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, f, Options{})}})))

	on := convergedFacts(t, d, "primary")
	on.Dirs["/var/lib/prometheus/node-exporter"] = FileFact{Exists: true, Mode: 0o750, UID: 112, GID: 118}
	if p := (&Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, on, Options{})}}); !p.Empty() {
		t.Errorf("metrics applied, still a plan:\n%s", planText(p))
	}
}

// TestMetricNamesAreStatusFields: every metric carries fields of a node in
// `haup status --json` (the table in metrics.Families, which the metrics
// page shows), and its label names are those fields' names.
func TestMetricNamesAreStatusFields(t *testing.T) {
	node := reflect.TypeOf(NodeStatus{})
	if !hasJSONPath(node, "node") {
		t.Fatal("every metric's node label: no nodes[].node in the status JSON")
	}
	for _, f := range metrics.Families {
		if len(f.JSON) == 0 && f.Name != "haup_metrics_timestamp_seconds" {
			t.Errorf("%s carries no status field", f.Name)
		}
		for _, p := range f.JSON {
			if !hasJSONPath(node, p) {
				t.Errorf("%s: nodes[].%s is not a field of haup status --json", f.Name, p)
			}
		}
		// An info metric's labels are the fields themselves.
		if strings.HasSuffix(f.Name, "_info") && !reflect.DeepEqual(f.Labels, f.JSON) {
			t.Errorf("%s: labels %v, want the fields' names %v", f.Name, f.Labels, f.JSON)
		}
	}
}

// hasJSONPath tells whether t has the JSON field path (a.b, list[].c).
func hasJSONPath(t reflect.Type, path string) bool {
	for _, part := range strings.Split(path, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		list := strings.HasSuffix(part, "[]")
		part = strings.TrimSuffix(part, "[]")
		field, ok := jsonField(t, part)
		if !ok {
			return false
		}
		t = field
		if list {
			if t.Kind() != reflect.Slice {
				return false
			}
			t = t.Elem()
		}
	}
	return true
}

func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")[0]
		if f.Anonymous && tag == "" {
			if ft, ok := jsonField(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag == name {
			return f.Type, true
		}
	}
	return nil, false
}
