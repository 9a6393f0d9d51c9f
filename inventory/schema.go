package inventory

//go:generate go test -run ^TestSchema$ -update .

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// schemaJSON is docs/reference/inventory.schema.json, a JSON Schema of the
// inventory for editors, generated from fieldTable and the Go types. It holds
// the structure, types, bounds and defaults; the checks across fields
// (subnets, duplicates, the image's limits) are haup validate's.
func schemaJSON() []byte {
	paths, types := fieldTypes()
	root := schemaObject()
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["title"] = "haup inventory"
	root["description"] = "Generated from haup's inventory/fieldtable.go; haup validate checks more than this schema."
	// objects maps a path to its schema object: "" is the root,
	// "nodes[]" the schema of a node.
	objects := map[string]map[string]any{"": root}
	objectAt := func(path string) map[string]any {
		if o, ok := objects[path]; ok {
			return o
		}
		return nil
	}
	var parentOf func(path string) map[string]any
	parentOf = func(path string) map[string]any {
		p := path[:max(strings.LastIndexByte(path, '.'), 0)]
		if o := objectAt(p); o != nil {
			return o
		}
		// An intermediate mapping (keepalived, keepalived.check...).
		o := schemaObject()
		parent := parentOf(p)
		parent["properties"].(map[string]any)[p[strings.LastIndexByte(p, '.')+1:]] = o
		objects[p] = o
		return o
	}
	for _, p := range paths {
		f := fieldOf(p)
		s := map[string]any{"description": f.Doc}
		if f.Default != "" && f.Default != "required" {
			s["description"] = f.Doc + " (default: " + f.Default + ")"
		}
		switch t := types[p]; {
		case t == "integer":
			s["type"] = "integer"
			if f.Max > 0 {
				s["minimum"], s["maximum"] = f.Min, f.Max
			}
			if n, err := strconv.Atoi(f.Default); err == nil {
				s["default"] = n
			}
		case t == "boolean":
			s["type"] = "boolean"
			if b, err := strconv.ParseBool(f.Default); err == nil {
				s["default"] = b
			}
		case t == "seconds, at most two decimals":
			s["type"] = "number"
			s["multipleOf"] = 0.01
		case strings.HasPrefix(t, "secret"):
			s["oneOf"] = []any{secretSchema("env"), secretSchema("file")}
		case t == "list of strings":
			s["type"] = "array"
			s["items"] = map[string]any{"type": scalarTypes}
		case t == "mapping of strings":
			s["type"] = "object"
			s["propertyNames"] = map[string]any{"pattern": envKeyRe.String()}
			s["additionalProperties"] = map[string]any{"type": scalarTypes}
		case t == "list of mappings":
			item := schemaObject()
			objects[p+"[]"] = item
			s["type"] = "array"
			s["items"] = item
			if p == "nodes" {
				s["minItems"] = 2
			}
		case t == "mapping":
			o := schemaObject()
			for k, v := range s {
				o[k] = v
			}
			s = o
			objects[p] = s
		default:
			s["type"] = scalarTypes
		}
		parent := parentOf(p)
		name := p[strings.LastIndexByte(p, '.')+1:]
		parent["properties"].(map[string]any)[name] = s
		if strings.HasPrefix(f.Default, "required") {
			parent["required"] = append(parent["required"].([]string), name)
		}
	}
	// A section with required fields is required itself (keepalived,
	// database); the witness is optional as a whole.
	for p, o := range objects {
		if p == "" || p == "witness" || p == "metrics" || p == "database.tls" || strings.HasSuffix(p, "[]") || len(o["required"].([]string)) == 0 {
			continue
		}
		parent := objects[p[:max(strings.LastIndexByte(p, '.'), 0)]]
		parent["required"] = append(parent["required"].([]string), p[strings.LastIndexByte(p, '.')+1:])
	}
	for _, o := range objects {
		slices.Sort(o["required"].([]string))
	}
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// scalarTypes are the JSON types of a string field: haup takes any YAML
// scalar as written (`version: 1.10`, `MAX: 100`).
var scalarTypes = []string{"string", "number", "boolean"}

// schemaObject is an object schema that refuses unknown keys, as haup does.
func schemaObject() map[string]any {
	return map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false, "required": []string{}}
}

// secretSchema is {env: NAME} or {file: PATH}.
func secretSchema(key string) map[string]any {
	return map[string]any{
		"type":                 "object",
		"properties":           map[string]any{key: map[string]any{"type": scalarTypes, "minLength": 1}},
		"required":             []string{key},
		"additionalProperties": false,
	}
}
