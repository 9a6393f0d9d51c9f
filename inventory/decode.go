package inventory

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxAliasExpansion bounds the values reached through aliases and merge keys,
// so a small file cannot expand into a huge one (an "alias bomb"). Real
// inventories share a few settings, far below it.
const maxAliasExpansion = 10000

// decoder fills the inventory types from the YAML node tree. It replaces
// yaml's own decoding, which stops a section at a duplicate key, reports type
// errors without the field's path and takes quadratic time on large mappings:
// this one reports every problem with its path and line, keeps decoding, and
// visits each node once.
type decoder struct {
	ctx context.Context
	v   *validator
	// expanding are the alias targets being decoded, innermost last.
	expanding []*yaml.Node
	expanded  int
	bombed    bool
	visits    int
	// anchored counts the anchored values being decoded.
	anchored int
	// repeated holds the problems found in anchored values, which are
	// decoded once more for each alias: each is reported once.
	repeated map[Problem]bool
}

// add records a problem at a line.
func (d *decoder) add(line int, path, format string, args ...any) {
	if d.v.problems.beyond(line) && len(d.expanding) == 0 && d.anchored == 0 {
		d.v.problems.total++
		return
	}
	p := Problem{File: d.v.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}
	if len(d.expanding) > 0 || d.anchored > 0 {
		if d.repeated[p] {
			return
		}
		if d.repeated == nil {
			d.repeated = map[Problem]bool{}
		}
		d.repeated[p] = true
	}
	d.v.problems.add(p)
}

// typeError records a problem with a value and marks its path bad, so that
// validation does not also report the field as missing or zero.
func (d *decoder) typeError(n *yaml.Node, path, format string, args ...any) {
	d.v.markBad(path)
	d.add(n.Line, path, format, args...)
}

var decimalRe = regexp.MustCompile(`^[-+]?(0|[1-9][0-9]*)$`)

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// isNullValue is isNull through aliases.
func isNullValue(n *yaml.Node) bool {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n != nil && isNull(n)
}

// describe names a value in a type error. Secrets are never echoed.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.ShortTag() == "!!str" {
		return quote(n.Value)
	}
	return clip(n.Value)
}

// clip shortens a value echoed in a message, on a rune boundary.
func clip(s string) string {
	const max = 48
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// quote is %q of a value echoed in a message, shortened.
func quote(s string) string {
	if len(s) <= 48 {
		return strconv.Quote(s)
	}
	return strconv.Quote(clip(s))
}

// resolve follows an alias, guarding against cycles and expansion bombs. It
// returns nil when the value must not be decoded, and a function that ends
// the expansion.
func (d *decoder) resolve(n *yaml.Node, path string) (*yaml.Node, func()) {
	if n.Kind != yaml.AliasNode {
		return n, func() {}
	}
	t := n.Alias
	for _, e := range d.expanding {
		if e == t {
			d.typeError(n, path, "alias *%s refers to a value that contains it", n.Value)
			return nil, nil
		}
	}
	d.expanding = append(d.expanding, t)
	return t, func() { d.expanding = d.expanding[:len(d.expanding)-1] }
}

// visit counts a node; it reports false once aliases expanded too far or the
// context ended.
func (d *decoder) visit(n *yaml.Node, path string) bool {
	if d.bombed {
		return false
	}
	d.visits++
	if d.visits%1024 == 0 && d.ctx.Err() != nil {
		d.bombed = true
		return false
	}
	if len(d.expanding) > 0 {
		d.expanded++
		if d.expanded > maxAliasExpansion {
			d.bombed = true
			d.typeError(n, path, "aliases expand to more than %d values", maxAliasExpansion)
			return false
		}
	}
	return true
}

// value decodes n into out, a value of one of the inventory types or of a
// string, int, bool, list or string map.
func (d *decoder) value(n *yaml.Node, path string, out reflect.Value) {
	n, done := d.resolve(n, path)
	if n == nil {
		return
	}
	defer done()
	if n.Anchor != "" {
		d.anchored++
		defer func() { d.anchored-- }()
	}
	if !d.visit(n, path) || isNull(n) {
		// null is absent: the field keeps its default.
		return
	}
	t := out.Type()
	switch {
	case t == reflect.TypeOf(Secret{}) && n.Kind != yaml.MappingNode:
		d.typeError(n, path, "expected {env: NAME} or {file: PATH}, got %s", kindName(n))
	case t.Kind() == reflect.Struct:
		d.structure(n, path, out)
	case t.Kind() == reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			out.SetString(s)
		}
	case t == reflect.TypeOf(Hundredths(0)):
		d.hundredths(n, path, out)
	case t.Kind() == reflect.Int:
		d.integer(n, path, out)
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.typeError(n, path, "expected true or false, got %s", describe(n))
			return
		}
		out.SetBool(strings.EqualFold(n.Value, "true"))
	case t.Kind() == reflect.Slice:
		d.list(n, path, out)
	case t.Kind() == reflect.Map:
		d.stringMap(n, path, out)
	default:
		panic("inventory: no decoding for " + t.String())
	}
}

// kindName names a value's kind without echoing it.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

// scalar returns a string-valued scalar: any plain or quoted scalar as
// written, so `version: 1.10` stays 1.10. Control characters are refused
// here, for every string of the inventory.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, path, "expected %s, got %s", want, describe(n))
		return "", false
	}
	s := n.Value
	for i, r := range s {
		switch {
		case r == '\n' || r == '\r':
			d.typeError(n, path, "must be one line")
			return "", false
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			d.typeError(n, path, "contains the control character %U at byte %d", r, i)
			return "", false
		}
	}
	return s, true
}

func (d *decoder) integer(n *yaml.Node, path string, out reflect.Value) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || !decimalRe.MatchString(n.Value) {
		msg := "expected an integer, got %s"
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && !strings.ContainsAny(n.Value, "eE") {
			msg = "expected an integer, got %s (fractions are not allowed)"
		}
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && decimalRe.MatchString(n.Value) {
			msg = "%s is out of range"
		}
		d.typeError(n, path, msg, describe(n))
		return
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil {
		d.typeError(n, path, "%s is out of range", clip(n.Value))
		return
	}
	out.SetInt(int64(i))
}

var hundredthsRe = regexp.MustCompile(`^(0|[1-9][0-9]{0,5})(\.[0-9]{1,2})?$`)

// hundredths decodes a number of seconds with at most two decimals.
func (d *decoder) hundredths(n *yaml.Node, path string, out reflect.Value) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		d.typeError(n, path, "expected a number of seconds, got %s", describe(n))
		return
	}
	m := hundredthsRe.FindStringSubmatch(n.Value)
	if m == nil {
		d.typeError(n, path, "expected a number of seconds with at most two decimals (like 0.25 or 1), got %s", describe(n))
		return
	}
	whole, _ := strconv.Atoi(m[1])
	frac := 0
	if m[2] != "" {
		f := m[2][1:]
		if len(f) == 1 {
			f += "0"
		}
		frac, _ = strconv.Atoi(f)
	}
	out.SetInt(int64(whole*100 + frac))
}

func (d *decoder) list(n *yaml.Node, path string, out reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, path, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(out.Type(), len(n.Content), len(n.Content))
	d.v.sawList(path, n.Content)
	for i, item := range n.Content {
		d.value(item, path+"["+strconv.Itoa(i)+"]", s.Index(i))
		if d.bombed {
			break
		}
	}
	out.Set(s)
}

// entry is one key of a mapping as decoding sees it.
type entry struct {
	key, val *yaml.Node
	// shared entries come from a merge: other mappings may merge them too.
	shared bool
}

// entries lists a mapping's entries: its own keys (a duplicate is reported
// and the first kept), then the keys merged in with `<<` that it does not
// set itself, earlier merges first.
func (d *decoder) entries(m *yaml.Node, path string) []entry {
	var own []entry
	if len(d.expanding) > 0 {
		// Entries reached through an alias count towards the expansion
		// limit, or a large mapping merged many times would escape it.
		d.expanded += len(m.Content) / 2
		if d.expanded > maxAliasExpansion && !d.bombed {
			d.bombed = true
			d.typeError(m, path, "aliases expand to more than %d values", maxAliasExpansion)
		}
		if d.bombed {
			return nil
		}
	}
	var merges []*yaml.Node
	seen := make(map[string]int, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, val := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if k.Kind == yaml.AliasNode && k.Alias != nil && k.Alias.Kind == yaml.ScalarNode {
			k = &yaml.Node{Kind: yaml.ScalarNode, Tag: k.Alias.Tag, Value: k.Alias.Value, Line: k.Line, Column: k.Column}
		}
		if k.Kind != yaml.ScalarNode {
			d.typeError(k, path, "a key must be a single value, got %s", describe(k))
			continue
		}
		if first, ok := seen[k.Value]; ok {
			d.add(k.Line, joinPath(path, k.Value), "duplicate key (first given at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, entry{key: k, val: val})
	}
	for _, src := range merges {
		for _, e := range d.merged(src, path) {
			if _, ok := seen[e.key.Value]; !ok {
				seen[e.key.Value] = e.key.Line
				own = append(own, e)
			}
		}
	}
	return own
}

// merged returns the entries a `<<` value brings: a mapping or a list of
// mappings, usually aliases.
func (d *decoder) merged(src *yaml.Node, path string) []entry {
	n, done := d.resolve(src, path)
	if n == nil {
		return nil
	}
	defer done()
	if n.Anchor != "" {
		d.anchored++
		defer func() { d.anchored-- }()
	}
	if !d.visit(n, path) {
		return nil
	}
	var out []entry
	switch n.Kind {
	case yaml.MappingNode:
		out = d.entries(n, path)
	case yaml.SequenceNode:
		seen := map[string]bool{}
		for _, item := range n.Content {
			item, done := d.resolve(item, path)
			if item == nil {
				continue
			}
			if item.Kind != yaml.MappingNode {
				done()
				d.typeError(item, path, "<< merges a mapping or a list of mappings, got %s", describe(item))
				continue
			}
			for _, e := range d.entries(item, path) {
				if !seen[e.key.Value] {
					seen[e.key.Value] = true
					out = append(out, e)
				}
			}
			done()
		}
	default:
		d.typeError(n, path, "<< merges a mapping or a list of mappings, got %s", describe(n))
	}
	for i := range out {
		out[i].shared = true
	}
	return out
}

// decodeEntry runs f for an entry, counting a merged one as shared.
func (d *decoder) decodeEntry(e entry, f func()) {
	if e.shared {
		d.anchored++
		defer func() { d.anchored-- }()
	}
	f()
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldIndex maps each inventory type's YAML keys to its field indexes.
var fieldIndex = func() map[reflect.Type]map[string]int {
	out := map[reflect.Type]map[string]int{}
	for _, t := range typesByName {
		m := map[string]int{}
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag != "" && tag != "-" {
				m[tag] = i
			}
		}
		out[t] = m
	}
	return out
}()

func (d *decoder) structure(n *yaml.Node, path string, out reflect.Value) {
	if n.Kind != yaml.MappingNode {
		if path == "" {
			d.typeError(n, path, "an inventory is a mapping (keepalived, database, ssh, nodes), got %s", describe(n))
			return
		}
		d.typeError(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	t := out.Type()
	fields := fieldIndex[t]
	for _, e := range d.entries(n, path) {
		d.decodeEntry(e, func() {
			i, ok := fields[e.key.Value]
			if !ok {
				if d.v.problems.beyond(e.key.Line) && !e.shared {
					d.v.problems.total++
					return
				}
				msg := fmt.Sprintf("unknown field %s in %s", quote(e.key.Value), sectionName(t.Name()))
				if s := closest(e.key.Value, knownFields(t.Name())); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				d.add(e.key.Line, "", "%s", msg)
				return
			}
			p := joinPath(path, e.key.Value)
			d.v.saw(p, e.key.Line, isNullValue(e.val))
			d.value(e.val, p, out.Field(i))
		})
		if d.bombed {
			return
		}
	}
}

func (d *decoder) stringMap(n *yaml.Node, path string, out reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.typeError(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	es := d.entries(n, path)
	m := reflect.MakeMapWithSize(out.Type(), len(es))
	for _, e := range es {
		val := reflect.New(out.Type().Elem()).Elem()
		p := joinPath(path, e.key.Value)
		d.v.saw(p, e.key.Line, isNullValue(e.val))
		d.decodeEntry(e, func() { d.value(e.val, p, val) })
		if d.bombed {
			break
		}
		m.SetMapIndex(reflect.ValueOf(e.key.Value), val)
	}
	out.Set(m)
}
