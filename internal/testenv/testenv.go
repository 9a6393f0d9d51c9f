// Package testenv holds what haup's tests share: golden files and the rule
// for tests that need root or system tools.
package testenv

import (
	"flag"
	"os"
	"os/exec"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Golden compares got with the file at path, or rewrites it with -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Need skips a test that needs root and the named programs when they are
// missing, except in CI (CI=true), where a missing prerequisite fails it:
// CI installs everything, so a skip there would hide a broken setup.
// Such a test is not hermetic (daemons, namespaces, the lab): `go test
// -short` skips it, even in CI.
func Need(t testing.TB, root bool, programs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("not hermetic: skipped by -short")
	}
	missing := ""
	if root && os.Geteuid() != 0 {
		missing = "root"
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			missing = p
		}
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("this test needs %s", missing)
	}
	t.Skipf("this test needs %s", missing)
}
