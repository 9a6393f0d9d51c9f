package nodeapi

import (
	"bufio"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// operatorSide are the packages of haup, the operator's program: main and
// everything it is built from. They share the wire contract with the agent
// through nodeapi and probe, and must not link the agent's implementation.
var operatorSide = []string{"", "cmd", "tasks", "apply", "status", "cluster", "gather", "desired", "drill", "metrics", "probe", "nodeapi"}

// agentSide are the node agent's implementation: what runs on the node only.
var agentSide = []string{"healthcheck", "probe/nodeprobe"}

// TestOperatorSideImportsNoAgentImplementation follows the imports of the
// operator side's packages (their non-test files, transitively, over the
// module's own packages) and fails on any path to the agent's
// implementation, naming the chain of imports that leads there.
func TestOperatorSideImportsNoAgentImplementation(t *testing.T) {
	for _, c := range forbiddenImports(t, operatorSide, agentSide) {
		t.Errorf("the operator side imports the agent's implementation: %s", c)
	}
}

// TestDesiredImportsNoHostSide: the desired state is computed from the
// inventory alone; it reaches neither the plan (tasks), nor a node's facts
// (probe), nor a host (remote).
func TestDesiredImportsNoHostSide(t *testing.T) {
	for _, c := range forbiddenImports(t, []string{"desired"}, []string{"tasks", "probe", "remote"}) {
		t.Errorf("desired imports what reads or changes hosts: %s", c)
	}
}

// TestStatusImportsNoPlan: the plan judges its facts through status, so
// status sits below it and never imports tasks (it reaches hosts through
// gather and remote, its own reads); gather, which both read facts with,
// does not either.
func TestStatusImportsNoPlan(t *testing.T) {
	for _, c := range forbiddenImports(t, []string{"status", "gather"}, []string{"tasks"}) {
		t.Errorf("status or gather imports the plan: %s", c)
	}
}

// TestPlanImportsNoApply: the plan (tasks) says what changes and holds
// each change's task as data; apply carries it out and imports the plan,
// which never imports apply: planning reaches a host only to gather facts.
func TestPlanImportsNoApply(t *testing.T) {
	for _, c := range forbiddenImports(t, []string{"tasks"}, []string{"apply"}) {
		t.Errorf("the plan imports what carries it out: %s", c)
	}
}

// TestClusterImportsNoHostSide: the cluster's view is a pure rule over the
// nodes' answers, shared by the plan and status: it imports neither, and
// reaches no host (gather, remote).
func TestClusterImportsNoHostSide(t *testing.T) {
	for _, c := range forbiddenImports(t, []string{"cluster"}, []string{"tasks", "status", "gather", "remote"}) {
		t.Errorf("cluster imports the plan, status or what reads hosts: %s", c)
	}
}

// forbiddenImports follows the imports of the packages from (directories
// below the module's root, "" for the root) and returns the chain of
// imports to each package of forbidden they reach.
func forbiddenImports(t *testing.T, from, forbidden []string) []string {
	t.Helper()
	root, module := moduleRoot(t)
	bad := map[string]bool{}
	for _, p := range forbidden {
		bad[module+"/"+p] = true
	}
	via := map[string]string{} // package -> the package that imported it first
	var queue, chains []string
	for _, p := range from {
		ip := strings.TrimSuffix(module+"/"+p, "/")
		via[ip] = ""
		queue = append(queue, ip)
	}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		if bad[pkg] {
			chains = append(chains, chain(via, pkg))
			continue
		}
		for _, imp := range imports(t, root, module, pkg) {
			if _, seen := via[imp]; !seen {
				via[imp] = pkg
				queue = append(queue, imp)
			}
		}
	}
	return chains
}

// TestNodeapiImportsOnlyAgent: the contract is owned by neither program's
// implementation; besides the standard library it needs only agent, the
// pure decision (for the report's fields that are not on the wire).
func TestNodeapiImportsOnlyAgent(t *testing.T) {
	root, module := moduleRoot(t)
	for _, imp := range imports(t, root, module, module+"/nodeapi") {
		if imp != module+"/agent" {
			t.Errorf("nodeapi imports %s", imp)
		}
	}
}

// moduleRoot is the module's directory and path, from the go.mod above
// this package.
func moduleRoot(t *testing.T) (string, string) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return root, strings.TrimSpace(m)
		}
	}
	t.Fatalf("%s: no module line", f.Name())
	return "", ""
}

// imports are the module's own packages that pkg's non-test files import,
// for this platform's build (build constraints and file name suffixes
// honoured), sorted.
func imports(t *testing.T, root, module, pkg string) []string {
	t.Helper()
	dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")))
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%s: %v", pkg, err)
	}
	set := map[string]bool{}
	fset := token.NewFileSet()
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, name); err != nil || !ok {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range f.Imports {
			p, err := strconv.Unquote(s.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if p == module || strings.HasPrefix(p, module+"/") {
				set[p] = true
			}
		}
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// chain is the import path from one of the packages followed to pkg.
func chain(via map[string]string, pkg string) string {
	path := []string{pkg}
	for p := via[pkg]; p != ""; p = via[p] {
		path = append([]string{p}, path...)
	}
	return strings.Join(path, " -> ")
}
