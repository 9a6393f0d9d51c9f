package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with an inventory, located in its file.
type Problem struct {
	File string
	Line int
	// Path names the field, e.g. nodes[1].address.
	Path string
	Msg  string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
	}
	if p.Path == "" {
		return loc + ": " + p.Msg
	}
	return loc + ": " + p.Path + ": " + p.Msg
}

// ValidationError lists every problem of an inventory, sorted by line.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	n := len(e.Problems)
	head := "invalid inventory (1 problem):\n  "
	if n != 1 {
		head = fmt.Sprintf("invalid inventory (%d problems):\n  ", n)
	}
	return head + strings.Join(lines, "\n  ")
}

// Load reads, defaults and validates the inventory at path. Warnings (such as
// secret files readable by others) are dropped; use LoadWithWarnings to see
// them.
func Load(path string) (*Inventory, error) {
	inv, _, err := LoadWithWarnings(path)
	return inv, err
}

// LoadWithWarnings is Load that also returns warnings, each located like a
// problem. A *ValidationError lists every problem at once.
func LoadWithWarnings(path string) (*Inventory, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("inventory: %w", err)
	}
	return parse(path, data)
}

func parse(path string, data []byte) (*Inventory, []string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, &ValidationError{Problems: yamlProblems(path, err)}
	}
	if len(root.Content) == 0 {
		return nil, nil, &ValidationError{Problems: []Problem{{File: path, Line: 1, Msg: "inventory is empty"}}}
	}
	inv := &Inventory{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var early []Problem
	if err := dec.Decode(inv); err != nil && !errors.Is(err, io.EOF) {
		// A type error (unknown field, wrong type) still decodes the rest,
		// so validation goes on and every problem is reported at once.
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, nil, &ValidationError{Problems: yamlProblems(path, err)}
		}
		early = yamlProblems(path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("inventory: %w", err)
	}
	inv.Path = abs
	v := &validator{file: path, root: root.Content[0], inv: inv, problems: early}
	applyDefaults(inv)
	v.resolvePaths()
	v.resolveSecrets()
	v.validate()
	if len(v.problems) > 0 {
		sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Line < v.problems[j].Line })
		return nil, v.warnings, &ValidationError{Problems: v.problems}
	}
	return inv, v.warnings, nil
}

var (
	yamlLineRe     = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownFieldRe = regexp.MustCompile(`field (\S+) not found in type inventory\.(\w+)`)
)

// yamlProblems turns the YAML decoder's errors into located problems, with a
// hint for an unknown field that is close to a known one.
func yamlProblems(path string, err error) []Problem {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var out []Problem
	for _, m := range msgs {
		p := Problem{File: path, Msg: m}
		if sm := yamlLineRe.FindStringSubmatch(m); sm != nil {
			p.Line, _ = strconv.Atoi(sm[1])
			p.Msg = sm[2]
		}
		if sm := unknownFieldRe.FindStringSubmatch(p.Msg); sm != nil {
			p.Msg = fmt.Sprintf("unknown field %q in %s", sm[1], sectionName(sm[2]))
			if s := closest(sm[1], knownFields(sm[2])); s != "" {
				p.Msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
		}
		out = append(out, p)
	}
	return out
}

func sectionName(typ string) string {
	switch typ {
	case "Inventory":
		return "the inventory"
	case "Node":
		return "a node"
	case "NodeSSH":
		return "a node's ssh"
	}
	return strings.ToLower(typ)
}

type yamlNode = yaml.Node

const (
	yamlMapping  = yaml.MappingNode
	yamlSequence = yaml.SequenceNode
)
