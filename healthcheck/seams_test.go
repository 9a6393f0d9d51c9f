package healthcheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// swappedGlobals lists where dir's test files assign a package-level
// variable of its non-test files, or a field or element of one: a seam
// swapped under the package's other tests (one such fake crashed with a
// concurrent map write). Tests pass a value instead (see System).
func swappedGlobals(t *testing.T, dir string) []string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	if len(names) == 0 {
		t.Fatalf("%s: no Go files", dir)
	}
	fset := token.NewFileSet()
	vars := map[string]bool{}
	var tests []*ast.File
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "_test.go") {
			tests = append(tests, f)
			continue
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, s := range g.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						vars[n.Name] = true
					}
				}
			}
		}
	}
	var out []string
	for _, f := range tests {
		ast.Inspect(f, func(n ast.Node) bool {
			var lhs []ast.Expr
			switch n := n.(type) {
			case *ast.AssignStmt:
				if n.Tok != token.DEFINE {
					lhs = n.Lhs
				}
			case *ast.IncDecStmt:
				lhs = []ast.Expr{n.X}
			}
			for _, e := range lhs {
				e = changed(e)
				// Unresolved in the test's file: declared in another one, not
				// a local of the same name.
				if id, ok := e.(*ast.Ident); ok && vars[id.Name] && id.Obj == nil {
					out = append(out, fset.Position(id.Pos()).String()+": assigns "+id.Name)
				}
			}
			return true
		})
	}
	return out
}

// changed is the variable an assignment to e changes: e, or the one whose
// field or element e is.
func changed(e ast.Expr) ast.Expr {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		return changed(x.X)
	case *ast.IndexExpr:
		return changed(x.X)
	}
	return e
}

// TestNoTestSwapsAPackageVariable: the agent's tests, here and in the
// packages it is built from, give their fakes as values.
func TestNoTestSwapsAPackageVariable(t *testing.T) {
	for _, dir := range []string{".", "../agent", "../cmd/haup-check", "../probe/nodeprobe"} {
		for _, s := range swappedGlobals(t, dir) {
			t.Error(s)
		}
	}
	// The rule itself: a test that swaps two, then assigns a local of the
	// same name as one.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\nvar run, m = func() {}, map[string]int{}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a_test.go"), []byte("package a\nfunc f() {\n\trun = nil\n\tm[\"x\"]++\n\tm := 1\n\tm = 2\n}\n"), 0o644)
	if got := swappedGlobals(t, dir); len(got) != 2 || !strings.HasSuffix(got[0], "a_test.go:3:2: assigns run") || !strings.HasSuffix(got[1], "a_test.go:4:2: assigns m") {
		t.Errorf("on a package that swaps: %q", got)
	}
}
