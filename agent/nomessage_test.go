package agent

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// messageFields are the names that hold text for people: reasons, errors,
// notes.
var messageFields = map[string]bool{"Message": true, "Reason": true, "Error": true, "Err": true, "Text": true, "Msg": true}

// textFuncs are the functions that look inside a text.
var textFuncs = map[string]bool{"Contains": true, "ContainsAny": true, "ContainsRune": true, "HasPrefix": true, "HasSuffix": true,
	"Index": true, "IndexAny": true, "LastIndex": true, "EqualFold": true, "Cut": true, "CutPrefix": true, "CutSuffix": true,
	"Compare": true, "Count": true, "TrimPrefix": true, "TrimSuffix": true, "Split": true, "Fields": true}

// messageReads lists where src compares or searches a message: a strings
// or bytes function that looks inside a text, a regexp, or == / != / switch
// on a message field or an Error() (against anything but "": whether there
// is an error is not its wording).
func messageReads(t *testing.T, name string, src any) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	at := func(n ast.Node, what string) { out = append(out, fset.Position(n.Pos()).String()+": "+what) }
	isMessage := func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.SelectorExpr:
			return messageFields[e.Sel.Name]
		case *ast.CallExpr:
			if s, ok := e.Fun.(*ast.SelectorExpr); ok {
				return s.Sel.Name == "Error" || s.Sel.Name == "Message"
			}
		}
		return false
	}
	empty := func(e ast.Expr) bool {
		l, ok := e.(*ast.BasicLit)
		return ok && (l.Value == `""` || l.Value == "``")
	}
	for _, imp := range f.Imports {
		if imp.Path.Value == `"regexp"` {
			at(imp, "imports regexp")
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if s, ok := n.Fun.(*ast.SelectorExpr); ok {
				if pkg, ok := s.X.(*ast.Ident); ok && (pkg.Name == "strings" || pkg.Name == "bytes") && textFuncs[s.Sel.Name] {
					at(n, pkg.Name+"."+s.Sel.Name)
				}
			}
		case *ast.BinaryExpr:
			if (n.Op == token.EQL || n.Op == token.NEQ) && (isMessage(n.X) && !empty(n.Y) || isMessage(n.Y) && !empty(n.X)) {
				at(n, "compares a message")
			}
		case *ast.SwitchStmt:
			if n.Tag != nil && isMessage(n.Tag) {
				at(n, "switches on a message")
			}
		}
		return true
	})
	return out
}

// TestNoDecisionReadsAMessage: the decision (this package) and its runner
// read codes, never the wording of a reason or an error.
func TestNoDecisionReadsAMessage(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	files = append(files, "../cmd/haup-check/cycle.go")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		n++
		for _, r := range messageReads(t, f, nil) {
			t.Errorf("%s: decisions read codes, not messages", r)
		}
	}
	if n < 6 {
		t.Fatalf("only %d files looked at", n)
	}
}

// TestMessageReadsAreFound: the check finds what it is for.
func TestMessageReadsAreFound(t *testing.T) {
	src := `package x
import ("strings"; "regexp")
func f(r Report, err error) bool {
	if strings.Contains(r.Reason, "timed out") { return true }
	if err.Error() == "connection refused" { return true }
	if r.Reason != "" { return false }
	switch r.Message { case "x": }
	_ = regexp.MustCompile
	return "refused" == r.Err
}`
	got := messageReads(t, "x.go", src)
	if len(got) != 5 {
		t.Errorf("found %d, want 5:\n%s", len(got), strings.Join(got, "\n"))
	}
}

// TestDecisionIsPure: the decision does no I/O and reads no clock: its
// imports are of values only, and time is used for its types and
// arithmetic, never to ask the time.
func TestDecisionIsPure(t *testing.T) {
	allowed := map[string]bool{`"encoding/json"`: true, `"errors"`: true, `"fmt"`: true, `"strconv"`: true, `"strings"`: true, `"time"`: true}
	clock := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true}
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if !allowed[imp.Path.Value] {
				t.Errorf("%s imports %s", name, imp.Path.Value)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				if pkg, ok := s.X.(*ast.Ident); ok && pkg.Name == "time" && clock[s.Sel.Name] {
					t.Errorf("%s: time.%s: the clock comes in the observation", fset.Position(s.Pos()), s.Sel.Name)
				}
			}
			return true
		})
	}
}
