package inventory

//go:generate go test -run ^TestReferenceDoc$ -update .

import (
	"fmt"
	"strings"
)

// referenceMarkdown is docs/reference/inventory.md, generated from fieldTable,
// the Go types and the image's environment table.
func referenceMarkdown() string {
	var b strings.Builder
	b.WriteString(`# Inventory reference

<!-- Generated from inventory/fieldtable.go and inventory/imageenv.go by
"go generate ./inventory"; TestReferenceDoc fails when this file differs. -->

One YAML file describes the cluster. Unknown fields are errors (with a "did
you mean" hint), and every problem is reported at once, before any
connection, as ` + "`FILE:LINE: PATH: problem`" + `. A field left out (or given as
null) takes its default; a field given is used as given, so ` + "`priority: 0`" + `
is an error, not the default. Integers are decimal; a duplicate key, a second
YAML document, invalid UTF-8 and control characters are errors. Anchors,
aliases and ` + "`<<`" + ` merge keys work at any depth, within a bounded expansion.
An inventory may be at most 1 MiB.

Secrets are references, so an inventory can be committed: ` + "`{file: PATH}`" + `
(relative to the inventory; a regular file of at most 4096 bytes, never a
pipe, socket, device or directory; a trailing newline is dropped; a file
readable by others draws a warning) or ` + "`{env: NAME}`" + `.

Editors can check an inventory as it is typed:
[inventory.schema.json](inventory.schema.json) is a JSON Schema generated
from the same field table as this page (fields, types, bounds, defaults and
their meanings). With the YAML language server (VS Code's YAML extension,
Neovim's yamlls and others), put
` + "`# yaml-language-server: $schema=PATH/TO/inventory.schema.json`" + ` on the
inventory's first line, or map the schema to your inventory's file name in
the editor's settings. The schema sees one field at a time; the checks across
fields (addresses and subnets, duplicates, the image's variables) are
` + "`haup validate`" + `'s.

## Fields

| field | type | default | valid values | meaning |
|---|---|---|---|---|
`)
	_, types := fieldTypes()
	for _, f := range fieldTable {
		def := f.Default
		if def == "" {
			def = "none"
		} else if def != "required" && !strings.Contains(def, " ") {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Path, types[f.Path], cell(def), cell(f.rangeText()), cell(f.Doc))
	}
	b.WriteString(`
## database.environment

Variables for the database container, checked against the variables the
image reads: bitnami's postgresql-repmgr 14 scripts, ` + "`postgresql-env.sh`" + `
(vendored in shared/vendor/bitnami-postgresql-repmgr-14; the source column
gives its line). Each is in one class:

- **haup**: haup sets it from the inventory; set the field named instead.
- **refused**: it changes the users, databases, data, authentication or
  failover that haup and its health check rely on.
- **no effect**: the image sets it itself or never reads it, so a value
  would be silently ignored.
- **tuning**: accepted, its value checked as shown; no value may hold ` + "`'`" + `,
  ` + "`\\`" + ` or ` + "`&`" + `, which the image cannot write into the quoted settings of
  postgresql.conf and repmgr.conf.

A ` + "`NAME_FILE`" + ` variant (a file in the container, which haup does not
mount) and a ` + "`POSTGRES_*`" + ` alias (read only when the ` + "`POSTGRESQL_*`" + ` name is
unset) follow the variable they stand for, and are refused for a tuning
variable in favour of its own name. Any other ` + "`REPMGR_`" + `, ` + "`POSTGRESQL_`" + ` or
` + "`POSTGRES_`" + ` name is refused as a typo the image would ignore, with the
nearest known name; other names (` + "`TZ`" + `, for instance) are passed as given.

| variable | class | source | what haup says or accepts |
|---|---|---|---|
`)
	class := map[envClass]string{envHaup: "haup", envBreaks: "refused", envNoEffect: "no effect", envTuning: "tuning"}
	for _, e := range envVars {
		say := e.why
		if e.class == envHaup {
			say = e.problem("")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s:%d | %s |\n", e.name, class[e.class], envSource, e.line, cell(say))
	}
	b.WriteString("\nAliases, by the variable they stand for:\n\n")
	for i, a := range envAliases {
		if i > 0 && envAliases[i-1].of == a.of {
			continue
		}
		var names []string
		for _, o := range envAliases[i:] {
			if o.of == a.of {
				names = append(names, "`"+o.name+"`")
			}
		}
		fmt.Fprintf(&b, "- `%s`: %s\n", a.of, strings.Join(names, ", "))
	}
	return b.String()
}

// cell makes s safe in a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

// rangeText is a field's valid values as the reference shows them.
func (f fieldDoc) rangeText() string {
	var parts []string
	if f.Max > 0 {
		parts = append(parts, fmt.Sprintf("%d..%d%s", f.Min, f.Max, f.Unit))
	}
	if f.Allowed != "" {
		parts = append(parts, f.Allowed)
	}
	return strings.Join(parts, "; ")
}
