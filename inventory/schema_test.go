package inventory

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// TestSchemaAgreesWithHaup: what an editor checks against
// docs/reference/inventory.schema.json agrees with haup. Every inventory
// haup accepts (the examples, testdata/good-*.yaml) passes the schema, so
// an editor flags nothing haup takes; and the mistakes the schema can see
// alone (an unknown key, a bound, a type, a missing field) fail it.
func TestSchemaAgreesWithHaup(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("inventory.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("inventory.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(b []byte) error {
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		return schema.Validate(v)
	}
	// The secrets the seeds take from the environment (as FuzzLoad).
	t.Setenv("HAUP_TEST_REPMGR", "from-env")
	t.Setenv("HAUP_TEST_AUTH_CHARS", "a%&*;(,")
	good, _ := filepath.Glob("testdata/good-*.yaml")
	examples, _ := filepath.Glob("../examples/*.yaml")
	for _, p := range append(good, examples...) {
		if strings.HasPrefix(filepath.Base(p), "alerts") {
			continue // Prometheus rules and their tests, not inventories
		}
		if _, err := Load(p); err != nil {
			t.Fatalf("%s: haup refuses it: %v", p, err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(b); err != nil {
			t.Errorf("%s: haup accepts it, the schema does not: %v", p, err)
		}
	}
	b, err := os.ReadFile("../examples/two-node.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := string(b)
	for _, c := range []struct{ name, from, to string }{
		{"unknown key", "    priority: 90", "    prio: 90"},
		{"out of bounds", "virtual_router_id: 51 ", "virtual_router_id: 256 "},
		{"wrong type", "virtual_router_id: 51 ", "virtual_router_id: [51] "},
		{"missing field", "virtual_router_id: 51 ", "# "},
	} {
		if !strings.Contains(base, c.from) {
			t.Fatalf("%s: no %q in examples/two-node.yaml", c.name, c.from)
		}
		if err := validate([]byte(strings.Replace(base, c.from, c.to, 1))); err == nil {
			t.Errorf("%s: the schema accepts %q", c.name, c.to)
		}
	}
}
