package inventory

import (
	"slices"
	"testing"
)

// TestFieldsCoverTypes: every field of the Go types has its entry in
// fieldTable, in the same order, and no entry names a field that is gone.
func TestFieldsCoverTypes(t *testing.T) {
	paths, _ := fieldTypes()
	var table []string
	for _, f := range fieldTable {
		table = append(table, f.Path)
	}
	if !slices.Equal(paths, table) {
		t.Errorf("fieldTable paths differ from the types':\n got %v\nwant %v", table, paths)
	}
	for _, f := range fieldTable {
		if f.Doc == "" {
			t.Errorf("%s: no meaning", f.Path)
		}
		if f.Max > 0 && f.Min > f.Max {
			t.Errorf("%s: bounds %d..%d", f.Path, f.Min, f.Max)
		}
	}
}

// TestReferenceDoc fails when docs/reference/inventory.md differs from
// what the code generates; -update (go generate ./inventory) rewrites it.
func TestReferenceDoc(t *testing.T) {
	golden(t, "../docs/reference/inventory.md", referenceMarkdown())
}

// TestSchema fails when docs/reference/inventory.schema.json differs from
// what the code generates; -update (go generate ./inventory) rewrites it.
func TestSchema(t *testing.T) {
	golden(t, "../docs/reference/inventory.schema.json", string(schemaJSON()))
}
