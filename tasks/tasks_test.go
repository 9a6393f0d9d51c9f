package tasks

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/internal/testenv"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/remote"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got)
}

func loadExample(t *testing.T) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Load("../examples/two-node.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// fakeCheck stands in for the cross-compiled health check: plan and apply
// only move its bytes.
func fakeCheck(goos, goarch string) ([]byte, error) {
	if goarch != "amd64" {
		return nil, fmt.Errorf("no health-check program for %s/%s", goos, goarch)
	}
	return []byte("\x7fELF haup-check " + goos + "/" + goarch), nil
}

// bareFacts is a freshly installed Ubuntu server with Docker and nothing else.
func bareFacts(n inventory.Node) string {
	return fmt.Sprintf(`@@haup id
0
@@haup os
ubuntu 22.04
@@haup arch
x86_64
@@haup tools
/usr/bin/apt-get
/usr/bin/systemctl
@@haup docker
24.0.7
@@haup iface
2: ens33    inet %s/24 brd 192.168.89.255 scope global ens33\       valid_lft forever preferred_lft forever
found
@@haup keepalived
@@haup service
inactive
not-found

@@haup file /usr/local/libexec/haup/haup-check
@@haup file /usr/local/libexec/haup/vrrp-notify
@@haup file /etc/haup/check.json
@@haup file /etc/haup/secrets/postgres-password
@@haup file /etc/haup/secrets/repmgr-password
@@haup file /etc/keepalived/keepalived.conf
@@haup dir /usr/local/libexec/haup
@@haup dir /etc/haup
@@haup dir /etc/haup/secrets
@@haup dir /etc/keepalived
@@haup dir /data/timescaledb
@@haup image
@@haup container
@@haup role
`, n.UnicastSrcIP)
}

// convergedFacts is what a node reports once apply made it match d.
func convergedFacts(t *testing.T, d *Desired, role string) *Facts {
	t.Helper()
	f, err := parseFacts([]byte(bareFacts(d.Node)))
	if err != nil {
		t.Fatal(err)
	}
	f.Keepalived = "1:2.2.4-0.2build1"
	f.KeepalivedActive, f.KeepalivedEnabled, f.KeepalivedPID = true, true, 4242
	for _, dir := range d.Dirs {
		f.Dirs[dir.Path] = FileFact{Exists: true, Mode: dir.Mode, UID: dir.UID, GID: dir.GID}
	}
	for _, file := range d.Files {
		f.Files[file.Path] = FileFact{Exists: true, Mode: file.Mode, UID: file.UID, GID: file.GID,
			SHA256: sha256hex(file.Content), Content: file.Content}
	}
	f.ImageID = "sha256:1111"
	f.Container = &ContainerFact{ImageID: "sha256:1111", Status: "running", StartedAt: "2026-11-23T10:00:00Z", Spec: d.Container.Label()}
	f.Role = role
	return f
}

func planText(p *Plan) string {
	var b strings.Builder
	p.Print(&b, Style{})
	return b.String()
}

func TestParseFactsBareNode(t *testing.T) {
	inv := loadExample(t)
	f, err := parseFacts([]byte(bareFacts(inv.Nodes[0])))
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch != "amd64" || !f.HasApt || !f.HasSystemd || f.Docker != "24.0.7" || !f.IfaceFound {
		t.Errorf("facts misread: %+v", f)
	}
	if f.Keepalived != "" || f.KeepalivedActive || f.Container != nil || f.ImageID != "" {
		t.Errorf("bare node reported as configured: %+v", f)
	}
	if len(f.Files) != 6 || f.Files[KeepalivedConfPath].Exists {
		t.Errorf("files misread: %+v", f.Files)
	}
}

func TestParseFactsRejectsTruncatedOutput(t *testing.T) {
	if _, err := parseFacts([]byte("@@haup id\n0\n")); err == nil {
		t.Fatal("truncated facts accepted")
	}
}

func TestGreenfieldPlanGolden(t *testing.T) {
	inv := loadExample(t)
	plan := &Plan{Inventory: inv}
	for _, n := range inv.Nodes {
		f, err := parseFacts([]byte(bareFacts(n)))
		if err != nil {
			t.Fatal(err)
		}
		d, err := DesiredState(inv, n, f.Arch, fakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		plan.Nodes = append(plan.Nodes, Build(inv, d, f, Options{}))
	}
	text := planText(plan)
	for _, s := range inv.SecretValues() {
		if strings.Contains(text, s) {
			t.Fatalf("plan shows a secret value")
		}
	}
	golden(t, "greenfield-plan.txt", []byte(text))
}

func TestConvergedPlanIsEmpty(t *testing.T) {
	inv := loadExample(t)
	plan := &Plan{Inventory: inv}
	for _, n := range inv.Nodes {
		d, err := DesiredState(inv, n, "amd64", fakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		plan.Nodes = append(plan.Nodes, Build(inv, d, convergedFacts(t, d, "standby"), Options{}))
	}
	if !plan.Empty() {
		t.Fatalf("converged cluster has a plan:\n%s", planText(plan))
	}
	if got := plan.Summary(); !strings.HasPrefix(got, "No changes.") {
		t.Errorf("summary = %q", got)
	}
}

func TestDriftPlan(t *testing.T) {
	inv := loadExample(t)
	n := inv.Nodes[0]
	d, err := DesiredState(inv, n, "amd64", fakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	f := convergedFacts(t, d, "primary")
	// keepalived.conf edited by hand, keepalived stopped, a secret file
	// readable by everyone.
	conf := f.Files[KeepalivedConfPath]
	conf.Content = []byte(strings.Replace(string(conf.Content), "priority 100", "priority 150", 1))
	conf.SHA256 = sha256hex(conf.Content)
	f.Files[KeepalivedConfPath] = conf
	sec := f.Files[repmgrSecretPath]
	sec.Mode = 0o644
	f.Files[repmgrSecretPath] = sec
	f.KeepalivedActive = false
	np := Build(inv, d, f, Options{})
	golden(t, "drift-plan.txt", []byte(planText(&Plan{Inventory: inv, Nodes: []*NodePlan{np}})))
}

func TestPrimaryRecreateIsBlocked(t *testing.T) {
	inv := loadExample(t)
	for _, tc := range []struct {
		role    string
		allow   bool
		blocked bool
	}{
		{"primary", false, true},
		{"", false, true}, // role unknown: assume it may be the primary
		{"primary", true, false},
		{"standby", false, false},
	} {
		d, err := DesiredState(inv, inv.Nodes[0], "amd64", fakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		f := convergedFacts(t, d, tc.role)
		f.Container.Spec = strings.Replace(f.Container.Spec, "REPMGR_CONNECT_TIMEOUT", "REPMGR_OLD", 1)
		plan := &Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, f, Options{AllowPrimaryRestart: tc.allow})}}
		if got := plan.Blocked() != nil; got != tc.blocked {
			t.Errorf("role %q allow %v: blocked = %v, want %v\n%s", tc.role, tc.allow, got, tc.blocked, planText(plan))
		}
		if tc.blocked {
			if _, err := Apply(context.Background(), plan, Hosts{}, ApplyOptions{}); err == nil {
				t.Errorf("role %q: apply of a blocked plan succeeded", tc.role)
			}
		}
	}
}

func TestMaskHidesOldAndNewSecrets(t *testing.T) {
	old := "    auth_pass oldpass1\nx newsecret y\n"
	got := Mask(old, []string{"newsecret"})
	if strings.Contains(got, "oldpass1") || strings.Contains(got, "newsecret") {
		t.Errorf("mask left a secret: %q", got)
	}
}

// TestApplyGreenfieldOrder runs a greenfield plan against fake hosts and
// checks that the primary's container starts, and answers, before the
// standby's, and that keepalived starts last.
func TestApplyGreenfieldOrder(t *testing.T) {
	inv := loadExample(t)
	var mu sync.Mutex
	var events []string
	record := func(ev string) func(string) (remote.Result, error) {
		return func(string) (remote.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
			return remote.Result{}, nil
		}
	}
	hosts := Hosts{}
	for _, n := range inv.Nodes {
		h := remote.NewFake(n.Name)
		h.On("docker run", record(n.Name+" run")).
			On("systemctl enable --now keepalived", record(n.Name+" keepalived")).
			On(healthcheck.BinaryPath+" -json || true", func(s string) (remote.Result, error) {
				record(n.Name + " ready?")(s)
				return remote.Result{Stdout: []byte(`{"role":"primary"}`)}, nil
			}).
			On("", func(string) (remote.Result, error) { return remote.Result{}, nil })
		hosts[n.Name] = h
	}
	plan := &Plan{Inventory: inv}
	for _, n := range inv.Nodes {
		f, _ := parseFacts([]byte(bareFacts(n)))
		d, _ := DesiredState(inv, n, "amd64", fakeCheck)
		plan.Nodes = append(plan.Nodes, Build(inv, d, f, Options{}))
	}
	recaps, err := Apply(context.Background(), plan, hosts, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pg-0 run", "pg-0 ready?", "pg-1 run"}
	if len(events) < 5 || strings.Join(events[:3], ",") != strings.Join(want, ",") {
		t.Fatalf("events = %v, want %v then both keepalived starts", events, want)
	}
	for _, r := range recaps {
		if r.Failed != 0 || r.Changed != len(plan.Nodes[0].Changes) {
			t.Errorf("recap %+v", r)
		}
	}
	// Every file went through the staging area, never through a script.
	up := hosts["pg-0"].(*remote.Fake).Uploaded()
	if len(up) != 6 {
		t.Errorf("%d files uploaded, want 6", len(up))
	}
	for _, s := range hosts["pg-0"].(*remote.Fake).Calls() {
		for _, secret := range inv.SecretValues() {
			if strings.Contains(s, secret) {
				t.Fatalf("a secret appears in a remote script:\n%s", s)
			}
		}
	}
}

func TestKeepalivedValidationFailureKeepsLiveFile(t *testing.T) {
	h := remote.NewFake("pg-0").On("keepalived -t", func(string) (remote.Result, error) {
		return remote.Result{}, &remote.ExitError{Code: 3, Stderr: "(Line 12) unknown keyword 'bogus'"}
	})
	f := File{Path: KeepalivedConfPath, Mode: 0o600, Content: []byte("bogus\n"), Validate: "keepalived -t -f %s"}
	err := installFile(f)(context.Background(), h)
	if err == nil || !strings.Contains(err.Error(), "live file is unchanged") || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v", err)
	}
}
