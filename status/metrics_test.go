package status

import (
	"reflect"
	"strings"
	"testing"

	"github.com/haup-project/haup/metrics"
)

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
