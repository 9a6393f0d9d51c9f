package inventory

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits that keep validation cheap whatever the input: an inventory is a
// few kilobytes, so these are far above any real one.
const (
	// MaxFileSize is the largest inventory file read.
	MaxFileSize = 1 << 20
	// MaxProblems is how many problems a ValidationError lists; it counts
	// the rest.
	MaxProblems = 50
)

// Problem is one thing wrong with an inventory, located in its file.
type Problem struct {
	File string
	// Line is 0 for a problem of the whole file.
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

// before orders problems by line, then path, then message, so the same file
// always gives the same list.
func (p Problem) before(q Problem) bool {
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	if p.Path != q.Path {
		return p.Path < q.Path
	}
	return p.Msg < q.Msg
}

// ValidationError lists the problems of an inventory, sorted by line, path
// and message: the first MaxProblems of them, and how many more there are.
type ValidationError struct {
	Problems []Problem
	// Omitted counts the problems not listed.
	Omitted int
}

func (e *ValidationError) Error() string {
	n := len(e.Problems) + e.Omitted
	var b strings.Builder
	if n == 1 {
		b.WriteString("invalid inventory (1 problem):")
	} else {
		fmt.Fprintf(&b, "invalid inventory (%d problems):", n)
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more problems", e.Omitted)
	}
	return b.String()
}

// problemSet keeps the first MaxProblems problems in sort order (a max-heap
// of them) and counts the others, so a file with a million problems costs
// no more memory than one with fifty.
type problemSet struct {
	kept  []Problem
	total int
}

func (s *problemSet) Len() int           { return len(s.kept) }
func (s *problemSet) Less(i, j int) bool { return s.kept[j].before(s.kept[i]) }
func (s *problemSet) Swap(i, j int)      { s.kept[i], s.kept[j] = s.kept[j], s.kept[i] }
func (s *problemSet) Push(x any)         { s.kept = append(s.kept, x.(Problem)) }
func (s *problemSet) Pop() any {
	p := s.kept[len(s.kept)-1]
	s.kept = s.kept[:len(s.kept)-1]
	return p
}

func (s *problemSet) add(p Problem) {
	s.total++
	switch {
	case len(s.kept) < MaxProblems:
		heap.Push(s, p)
	case p.before(s.kept[0]):
		s.kept[0] = p
		heap.Fix(s, 0)
	}
}

// beyond tells whether a problem at line would not be listed.
func (s *problemSet) beyond(line int) bool {
	return len(s.kept) == MaxProblems && line > s.kept[0].Line
}

func (s *problemSet) err() error {
	if s.total == 0 {
		return nil
	}
	out := append([]Problem(nil), s.kept...)
	sort.Slice(out, func(i, j int) bool { return out[i].before(out[j]) })
	return &ValidationError{Problems: out, Omitted: s.total - len(out)}
}

func fileProblem(path string, line int, format string, args ...any) error {
	return &ValidationError{Problems: []Problem{{File: path, Line: line, Msg: fmt.Sprintf(format, args...)}}}
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
	return LoadWithWarningsContext(context.Background(), path)
}

// LoadContext is Load that gives up when ctx ends.
func LoadContext(ctx context.Context, path string) (*Inventory, error) {
	inv, _, err := LoadWithWarningsContext(ctx, path)
	return inv, err
}

// LoadWithWarningsContext is LoadWithWarnings that returns as soon as ctx
// ends (on Ctrl-C), even while a read blocks (the inventory may be a pipe):
// the abandoned read ends with the process.
func LoadWithWarningsContext(ctx context.Context, path string) (*Inventory, []string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("inventory: interrupted: %w", err)
	}
	type result struct {
		inv      *Inventory
		warnings []string
		err      error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.inv, r.warnings, r.err = load(ctx, path)
		done <- r
	}()
	select {
	case r := <-done:
		if r.err == nil && ctx.Err() != nil {
			r.err = fmt.Errorf("inventory: interrupted: %w", ctx.Err())
		}
		return r.inv, r.warnings, r.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("inventory: interrupted: %w", ctx.Err())
	}
}

func load(ctx context.Context, path string) (*Inventory, []string, error) {
	data, err := readLimited(path, MaxFileSize)
	if err != nil {
		return nil, nil, err
	}
	return parse(ctx, path, data)
}

// readLimited reads at most limit bytes of the file at path, refusing a
// larger one before reading it when its size is known.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer f.Close()
	tooBig := func(size string) error {
		return fileProblem(path, 0, "the file is %s; an inventory may be at most %d bytes (%s)", size, limit, mib(limit))
	}
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			return nil, fileProblem(path, 0, "is a directory, not an inventory file")
		}
		if st.Mode().IsRegular() && st.Size() > limit {
			return nil, tooBig(fmt.Sprintf("%d bytes (%s)", st.Size(), mib(st.Size())))
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, tooBig("over " + mib(limit))
	}
	return data, nil
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// checkText finds the first byte YAML cannot hold (invalid UTF-8, NUL and
// other control characters), which the YAML parser reports without a line.
func checkText(path string, data []byte) error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		c := data[i]
		if c >= 0x20 && c < 0x7f {
			i++
			col++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(data[i:])
		}
		switch {
		case r == utf8.RuneError && size == 1:
			return fileProblem(path, line, "invalid UTF-8 (byte 0x%02x at column %d); an inventory is UTF-8 text", c, col)
		case r == 0:
			return fileProblem(path, line, "a NUL byte at column %d; an inventory is text", col)
		case r == '\n':
			line++
			col = 0
		case r == '\t' || r == '\r' || r == 0x85 || (r == 0xfeff && i == 0):
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xfffe || r == 0xffff:
			return fileProblem(path, line, "the control character %U at column %d", r, col)
		}
		i += size
		col++
	}
	return nil
}

func parse(ctx context.Context, path string, data []byte) (*Inventory, []string, error) {
	if err := checkText(path, data); err != nil {
		return nil, nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fileProblem(path, 1, "inventory is empty")
		}
		return nil, nil, &ValidationError{Problems: yamlProblems(path, err)}
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		return nil, nil, fileProblem(path, second.Line, "a second YAML document; an inventory is one document")
	case !errors.Is(err, io.EOF):
		return nil, nil, &ValidationError{Problems: yamlProblems(path, err)}
	}
	if len(root.Content) == 0 || isNull(root.Content[0]) {
		return nil, nil, fileProblem(path, 1, "inventory is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("inventory: %w", err)
	}
	inv := &Inventory{Path: abs}
	v := &validator{ctx: ctx, file: path, root: root.Content[0], inv: inv}
	d := &decoder{ctx: ctx, v: v}
	d.value(v.root, "", reflect.ValueOf(inv).Elem())
	if ctx.Err() != nil {
		return nil, nil, fmt.Errorf("inventory: interrupted: %w", ctx.Err())
	}
	inv.Path = abs
	// Validating what could not be decoded would only add follow-ups.
	if !v.bad[""] && !d.bombed {
		applyDefaults(inv, v.has)
		v.resolvePaths()
		v.resolveSecrets()
		v.validate()
	}
	if ctx.Err() != nil {
		return nil, nil, fmt.Errorf("inventory: interrupted: %w", ctx.Err())
	}
	if err := v.problems.err(); err != nil {
		return nil, v.warnings, err
	}
	return inv, v.warnings, nil
}

var yamlLineRe = regexp.MustCompile(`^line (\d+): (.*)$`)

// yamlProblems turns the YAML parser's error into a located problem.
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
	case "Witness":
		return "witness (a witness has no interface, priority or unicast_src_ip)"
	case "MaxLag":
		return "database.max_lag_on_failover (it has bytes and seconds)"
	}
	return strings.ToLower(typ)
}
