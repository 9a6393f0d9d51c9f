package apply

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// TestTaskScripts runs each task against a fake host: the script it sends,
// and how a failure reads.
func TestTaskScripts(t *testing.T) {
	spec := desired.ContainerSpec{Name: "pg0", Image: "example/pg:16"}
	for _, tc := range []struct {
		name string
		task tasks.Task
		want []string // in the script, in order
		err  string   // in the error when the host fails
	}{
		{"step", tasks.ExecStep{Step: "do it", Script: "echo hi\n"}, []string{"echo hi"}, "do it"},
		{"package", tasks.InstallKeepalived{}, []string{"apt-get install"}, "install keepalived"},
		{"dir", tasks.MakeDir{Dir: desired.Dir{Path: "/etc/haup", Mode: 0o750, UID: 1, GID: 2}}, []string{"mkdir -p /etc/haup && chown 1:2 /etc/haup && chmod 0750 /etc/haup"}, "dir /etc/haup"},
		{"chmod", tasks.ChmodFile{File: desired.File{Path: "/etc/x", Mode: 0o600}}, []string{"chown 0:0 /etc/x && chmod 0600 /etc/x"}, "file /etc/x"},
		{"pull", tasks.PullImage{Image: "example/pg:16"}, []string{"example/pg:16"}, "pull example/pg:16"},
		{"run", tasks.RunContainer{Spec: spec}, []string{"docker"}, "run container pg0"},
		{"recreate", tasks.RunContainer{Spec: spec, Replace: true}, []string{"stop-database", "docker rm -f pg0"}, "run container pg0"},
		{"start", tasks.StartContainer{Name: "pg0"}, []string{"docker start pg0"}, "start container pg0"},
		{"reset witness", tasks.ResetWitness{Spec: spec, DataDir: "/srv/pg"}, []string{"docker rm -f pg0", "find /srv/pg -mindepth 1 -delete"}, "reset the witness"},
		{"tls reload", tasks.ReloadTLS{Container: "pg0"}, []string{"c=pg0", "tls-key"}, "TLS certificate"},
		{"swap", tasks.SwapPassword{Staged: "/a.next", Live: "/a"}, []string{"mv -f /a.next /a"}, "fails"},
		{"set password", tasks.SetPassword{Role: "repmgr", File: "/a"}, []string{"set-password -role repmgr -file /a"}, "fails"},
		{"rejoin", tasks.Rejoin{Addr: "10.0.0.1"}, []string{"systemctl start " + nodeapi.RejoinUnit, "-status repmgr"}, "rejoin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := remote.NewFake("pg-0").OnStdout("-status repmgr", armedStandby(t)).On("", func(string) (remote.Result, error) { return remote.Result{}, nil })
			if err := run(context.Background(), h, tc.task); err != nil {
				t.Fatal(err)
			}
			script := strings.Join(h.Calls(), "")
			at := 0
			for _, w := range tc.want {
				i := strings.Index(script[at:], w)
				if i < 0 {
					t.Fatalf("script lacks %q after byte %d:\n%s", w, at, script)
				}
				at += i + len(w)
			}
			bad := remote.NewFake("pg-0").On("", func(string) (remote.Result, error) { return remote.Result{}, errors.New("fails") })
			if err := run(context.Background(), bad, tc.task); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("failure reads %v, want %q", err, tc.err)
			}
		})
	}
}

// TestFollowFallsBackToClone: a follow whose start as a standby fails
// clones instead.
func TestFollowFallsBackToClone(t *testing.T) {
	h := remote.NewFake("pg-1").
		Expect(" follow -timeout 60s ", func(string) (remote.Result, error) { return remote.Result{}, errors.New("no") }).
		Expect("systemctl start "+nodeapi.RejoinUnit, func(string) (remote.Result, error) { return remote.Result{}, nil }).
		Expect("-status repmgr", func(string) (remote.Result, error) { return remote.Result{Stdout: []byte(armedStandby(t))}, nil })
	if err := run(context.Background(), h, tasks.Follow{Conninfo: "host=10.0.0.1", Clone: tasks.Rejoin{}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), h, tasks.Nothing{}); err != nil || len(h.Calls()) != 3 {
		t.Errorf("nothing ran something: %v %q", err, h.Calls())
	}
}

// TestRejoinTasksAreWatched: the tasks of haup rejoin, following the
// primary or, with --clone, cloning at once (tasks' TestRejoinTasks), both
// report the clone's progress while they run.
func TestRejoinTasksAreWatched(t *testing.T) {
	plan := pairPlan(t)
	for _, clone := range []bool{false, true} {
		rp, err := tasks.RejoinPlanWith(plan, "pg-1", clone)
		if err != nil {
			t.Fatal(err)
		}
		if c := rp.Nodes[1].Changes[0]; watchOf(c.Task()) == nil {
			t.Errorf("clone %v: no watch of the clone in %s", clone, c)
		}
	}
}

// TestRunKnowsEveryTask: every type of task a plan can hold (each type of
// package tasks with the Task marker, read from its source) has a sample
// here, and run carries each sample out on a node that answers; a value
// that is no task it knows is an error naming its type.
func TestRunKnowsEveryTask(t *testing.T) {
	spec := desired.ContainerSpec{Name: "pg0", Image: "example/pg:16"}
	file := desired.File{Path: "/etc/haup/x", Mode: 0o644, Content: []byte("x\n")}
	rejoin := tasks.Rejoin{Addr: "10.0.0.12"}
	samples := []tasks.Task{
		tasks.ExecStep{Step: "a step", Script: "true\n"},
		tasks.Nothing{},
		tasks.InstallKeepalived{},
		tasks.MakeDir{Dir: desired.Dir{Path: "/etc/haup", Mode: 0o750}},
		tasks.ChmodFile{File: file},
		tasks.InstallFile{File: file},
		tasks.PullImage{Image: spec.Image},
		tasks.RunContainer{Spec: spec, Replace: true},
		tasks.StartContainer{Name: spec.Name},
		tasks.ResetWitness{Spec: spec, DataDir: "/srv/pg"},
		tasks.FinishVerifyFull{File: file, Container: spec.Name},
		tasks.ReloadTLS{Container: spec.Name},
		tasks.SwapPassword{Staged: "/a.next", Live: "/a"},
		tasks.SetPassword{Role: "postgres", File: "/a"},
		rejoin,
		tasks.Follow{Conninfo: "host=10.0.0.11", Clone: rejoin},
		tasks.ReplaceHBA{Container: spec.Name, Content: []byte("local all all md5\n")},
	}
	var sampled []string
	for _, task := range samples {
		name := reflect.TypeOf(task).Name()
		sampled = append(sampled, name)
		h := remote.NewFake("pg-0").OnStdout("-status repmgr", armedStandby(t)).On("", func(string) (remote.Result, error) { return remote.Result{}, nil })
		if err := run(context.Background(), h, task); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	slices.Sort(sampled)
	if declared := taskTypes(t); !slices.Equal(sampled, declared) {
		t.Errorf("the task types sampled here:\n  %s\nthe task types of package tasks:\n  %s", strings.Join(sampled, " "), strings.Join(declared, " "))
	}
	if err := run(context.Background(), remote.NewFake("pg-0"), nil); err == nil || !strings.Contains(err.Error(), "task of type <nil>") {
		t.Errorf("no task: %v", err)
	}
}

// taskTypes are the names of package tasks' types that are tasks (those
// with the isTask marker method), from its non-test source files, sorted.
func taskTypes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "tasks", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "isTask" {
				continue
			}
			if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok {
				names = append(names, id.Name)
			} else {
				t.Errorf("%s: isTask on %s, not on a plain type", fset.Position(fn.Pos()), fn.Recv.List[0].Type)
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("no task types found in package tasks")
	}
	slices.Sort(names)
	return names
}
