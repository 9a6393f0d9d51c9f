package tasks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"
	"github.com/haup-project/haup/internal/testenv"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/status"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got)
}

func planText(p *Plan) string {
	var b strings.Builder
	p.Print(&b, Style{})
	return b.String()
}

func TestGreenfieldPlanGolden(t *testing.T) {
	inv := fixture.Example(t)
	plan := &Plan{Inventory: inv}
	for _, n := range inv.Nodes {
		f := nodefacts.Bare(t, n)
		d, err := desired.DesiredState(inv, n, f.Arch, fixture.FakeCheck)
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
	inv := fixture.Example(t)
	plan := &Plan{Inventory: inv}
	for _, n := range inv.Nodes {
		d, err := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		plan.Nodes = append(plan.Nodes, Build(inv, d, nodefacts.Converged(t, d, "standby"), Options{}))
	}
	if !plan.Empty() {
		t.Fatalf("converged cluster has a plan:\n%s", planText(plan))
	}
	if got := plan.Summary(); !strings.HasPrefix(got, "No changes.") {
		t.Errorf("summary = %q", got)
	}
}

func TestDriftPlan(t *testing.T) {
	inv := fixture.Example(t)
	n := inv.Nodes[0]
	d, err := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	f := nodefacts.Converged(t, d, "primary")
	// keepalived.conf edited by hand, keepalived stopped, a secret file
	// readable by everyone.
	conf := f.Files[desired.KeepalivedConfPath]
	conf.Content = []byte(strings.Replace(string(conf.Content), "priority 100", "priority 150", 1))
	conf.SHA256 = sha256hex(conf.Content)
	f.Files[desired.KeepalivedConfPath] = conf
	sec := f.Files[desired.RepmgrSecretPath]
	sec.Mode = 0o644
	f.Files[desired.RepmgrSecretPath] = sec
	f.Keepalived.Active = "inactive"
	np := Build(inv, d, f, Options{})
	golden(t, "drift-plan.txt", []byte(planText(&Plan{Inventory: inv, Nodes: []*NodePlan{np}})))
}

// TestPrimaryRecreateIsBlocked: recreating the container of a node that is
// (or may be) the primary needs --allow-primary-restart; a standby's does
// not (apply's TestApplyRefusesABlockedPlan: a blocked plan is not applied).
func TestPrimaryRecreateIsBlocked(t *testing.T) {
	inv := fixture.Example(t)
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
		d, err := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		f := nodefacts.Converged(t, d, tc.role)
		f.Container.Spec = strings.Replace(f.Container.Spec, "REPMGR_CONNECT_TIMEOUT", "REPMGR_OLD", 1)
		plan := &Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, f, Options{AllowPrimaryRestart: tc.allow})}}
		if got := plan.Blocked() != nil; got != tc.blocked {
			t.Errorf("role %q allow %v: blocked = %v, want %v\n%s", tc.role, tc.allow, got, tc.blocked, planText(plan))
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

// TestReloadWhenKeepalivedRunsAnotherConfiguration: the file is right but
// keepalived loaded another one (an apply killed before its reload).
func TestReloadWhenKeepalivedRunsAnotherConfiguration(t *testing.T) {
	inv := fixture.Example(t)
	d, _ := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
	f := nodefacts.Converged(t, d, "primary")
	if np := Build(inv, d, f, Options{}); len(np.Changes) != 0 {
		t.Fatalf("converged node has changes: %v", np.Changes)
	}
	f.Keepalived.LoadedSHA256 = strings.Repeat("ab", 32)
	np := Build(inv, d, f, Options{})
	if len(np.Changes) != 1 || !strings.Contains(np.Changes[0].String(), "reload (it runs another configuration") {
		t.Fatalf("changes = %v", np.Changes)
	}
	f.Keepalived.LoadedSHA256 = ""
	np = Build(inv, d, f, Options{})
	if len(np.Changes) != 1 || !strings.Contains(np.Changes[0].String(), "not known") {
		t.Fatalf("changes = %v", np.Changes)
	}
}

// TestStalePrimaryRejoins: the cluster's state is part of the plan.
func TestStalePrimaryRejoins(t *testing.T) {
	inv := fixture.Example(t)
	plan := &Plan{Inventory: inv}
	for i, n := range inv.Nodes {
		d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		f := nodefacts.Converged(t, d, "primary")
		f.Database.Timeline = i + 1
		plan.Nodes = append(plan.Nodes, Build(inv, d, f, Options{}))
	}
	clusterChanges(plan)
	if len(plan.Nodes[0].Changes) != 1 || len(plan.Nodes[1].Changes) != 0 {
		t.Fatalf("plan:\n%s", planText(plan))
	}
	c := plan.Nodes[0].Changes[0]
	if c.Kind != "database" || c.Blocked != "" || !strings.Contains(c.Summary, "stale primary on timeline 1 while pg-1 is primary on timeline 2") {
		t.Fatalf("change = %s", c)
	}
	if plan.Empty() {
		t.Fatal("a stale primary reads as in sync")
	}
	// Two primaries on one timeline: nobody can tell which is current.
	plan.Nodes[0].Changes = nil
	plan.Nodes[0].Facts.Database.Timeline = 2
	clusterChanges(plan)
	for _, np := range plan.Nodes {
		if len(np.Changes) != 1 || np.Changes[0].Blocked == "" {
			t.Fatalf("plan:\n%s", planText(plan))
		}
	}
}

func TestPasswordChangeOnLiveDatabaseIsBlocked(t *testing.T) {
	inv := fixture.Example(t)
	d, _ := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
	f := nodefacts.Converged(t, d, "primary")
	ff := f.Files[desired.PostgresSecretPath]
	ff.SHA256 = strings.Repeat("0", 64)
	f.Files[desired.PostgresSecretPath] = ff
	np := Build(inv, d, f, Options{})
	plan := &Plan{Inventory: inv, Nodes: []*NodePlan{np}}
	if err := plan.Blocked(); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("blocked = %v\n%s", err, planText(plan))
	}
}

func TestLeftoverStagingIsRemoved(t *testing.T) {
	inv := fixture.Example(t)
	d, _ := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
	f := nodefacts.Converged(t, d, "primary")
	f.Staging = []string{remote.StagingRoot + "/0123456789abcdef"}
	plan := &Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, f, Options{})}}
	clusterChanges(plan)
	if plan.Empty() || !strings.Contains(planText(plan), "- staging "+remote.StagingRoot+"/0123456789abcdef: left by an interrupted apply") {
		t.Fatalf("plan:\n%s", planText(plan))
	}
}

func TestPlanSwitchoverRefusals(t *testing.T) {
	cluster := func(mut func(p, s *Facts)) *Plan { return pauseCluster(t, mut) }
	sw, err := PlanSwitchover(cluster(nil), "")
	if err != nil || sw.To.Node.Name != "pg-1" || sw.From.Node.Name != "pg-0" {
		t.Fatalf("healthy cluster: %v", err)
	}
	// The plan the operator reads before anything changes.
	var b strings.Builder
	sw.Print(&b)
	golden(t, "switchover-plan.txt", []byte(b.String()))
	if doc, err := os.ReadFile("../docs/operations/switchover.md"); err != nil || !strings.Contains(string(doc), "```\n"+b.String()+"```\n") {
		t.Errorf("docs/operations/switchover.md does not show the plan as haup prints it (%v):\n%s", err, b.String())
	}
	for _, tc := range []struct {
		name, to string
		mut      func(p, s *Facts)
		want     string
	}{
		{"unknown node", "pg-9", nil, `no node "pg-9"`},
		{"unknown node, a node fenced: the input first", "pg-9", func(p, s *Facts) { s.Fence = &nodeapi.FenceRecord{State: "rejoining"} }, `no node "pg-9" in the inventory (its database nodes: pg-0, pg-1)`},
		{"to the primary", "pg-0", nil, "already the primary"},
		{"standby not streaming", "", func(p, s *Facts) { s.Database.Replication = nil }, "not a streaming standby"},
		{"standby down", "", func(p, s *Facts) { s.Database.Role = "down" }, "not a streaming standby (down)"},
		{"no VIP holder", "", func(p, s *Facts) { p.Iface.HoldsVIP = false }, "no node holds the VIP"},
		{"VIP on the standby", "", func(p, s *Facts) { p.Iface.HoldsVIP, s.Iface.HoldsVIP = false, true }, "not on the primary"},
		{"two primaries", "", func(p, s *Facts) { s.Database.Role = "primary" }, "2 primaries"},
		{"fenced", "", func(p, s *Facts) { s.Fence = &nodeapi.FenceRecord{State: "waiting"} }, "pg-1 is fenced"},
	} {
		_, err := PlanSwitchover(cluster(tc.mut), tc.to)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestRejoinPlanRefusesThePrimary(t *testing.T) {
	inv := fixture.Example(t)
	plan := &Plan{Inventory: inv}
	for i, n := range inv.Nodes {
		d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		role := "standby"
		if i == 0 {
			role = "primary"
		}
		plan.Nodes = append(plan.Nodes, &NodePlan{Node: n, Facts: nodefacts.Converged(t, d, role)})
	}
	if _, err := RejoinPlan(plan, "pg-0"); err == nil || !strings.Contains(err.Error(), "is the current primary") {
		t.Fatalf("rejoin of the primary: %v", err)
	}
	rp, err := RejoinPlan(plan, "pg-1")
	if err != nil || len(rp.Nodes[1].Changes) != 1 || len(rp.Nodes[0].Changes) != 0 || !strings.Contains(rp.Nodes[1].Changes[0].Summary, "rejoin as a standby of pg-0") {
		t.Fatalf("rejoin of the standby: %v\n%s", err, planText(rp))
	}
}

// TestSavedPlanRefusesChangedState: a saved plan is carried out only on the
// state it saw; lag and timestamps do not count, a file edited does.
func TestSavedPlanRefusesChangedState(t *testing.T) {
	inv := fixture.Example(t)
	d, _ := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
	f := nodefacts.Converged(t, d, "primary")
	f.Keepalived.LoadedSHA256 = ""
	plan := &Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, f, Options{})}}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := plan.Save(path, "inv-hash"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, secret := range inv.SecretValues() {
		if strings.Contains(string(b), secret) {
			t.Fatal("the plan file holds a secret")
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode %o", st.Mode().Perm())
	}
	sp, err := LoadSavedPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Check(plan, "inv-hash"); err != nil {
		t.Fatalf("unchanged: %v", err)
	}
	f.Database.Replication = []nodeapi.Replication{{State: "streaming", LagBytes: 4242}}
	f.LastCheckAgeS = 99
	if err := sp.Check(plan, "inv-hash"); err != nil {
		t.Fatalf("lag and check age changed only: %v", err)
	}
	if err := sp.Check(plan, "other"); err == nil || !strings.Contains(err.Error(), "inventory") {
		t.Fatalf("inventory changed: %v", err)
	}
	ff := f.Files[desired.KeepalivedConfPath]
	ff.SHA256 = strings.Repeat("1", 64)
	f.Files[desired.KeepalivedConfPath] = ff
	if err := sp.Check(plan, "inv-hash"); err == nil || !strings.Contains(err.Error(), "pg-0: its state changed") {
		t.Fatalf("hand edit: %v", err)
	}
}

// TestImageChangeIsRolling: a new image on a healthy cluster is a rolling
// change (the standby first, a switchover, the old primary as a standby),
// not blocked; on a cluster without a streaming standby it stays blocked.
func TestImageChangeIsRolling(t *testing.T) {
	build := func(streaming bool) *Plan { return imageChangeCluster(t, streaming) }
	plan := build(true)
	if err := plan.Blocked(); err != nil {
		t.Fatalf("rolling change blocked: %v", err)
	}
	golden(t, "rolling-plan.txt", []byte(planText(plan)))
	if from, to := plan.Rolling(); from == nil || from.Node.Name != "pg-0" || to != "pg-1" {
		t.Fatalf("rolling: %v -> %q", from, to)
	}
	if err := build(false).Blocked(); err == nil {
		t.Fatal("a primary's container change without a streaming standby is not blocked")
	}
}

// imageChangeCluster is the example pair, pg-0 the primary holding the VIP
// and pg-1 its standby (streaming or not), planned after the inventory
// named another image.
func imageChangeCluster(t *testing.T, streaming bool) *Plan {
	plan := convergedCluster(t, func(i int, f *Facts) {
		if i == 1 && !streaming {
			f.Database.Replication = nil
		}
	})
	inv := plan.Inventory
	// The inventory now names another image.
	inv.Database.Image = "wjy2020/timescaledb-repmgr:pg14.16-ts2.17.2"
	for i, n := range inv.Nodes {
		d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		plan.Nodes[i] = Build(inv, d, plan.Nodes[i].Facts, Options{})
	}
	clusterChanges(plan)
	return plan
}

// TestPasswordRotationPlan: a new postgres_password on a live cluster is a
// rotation (staged, set inside the database on the primary, moved into
// place), not blocked; the plan never shows the password; with two
// primaries the rotation is blocked. A new repmgr_password adds a rolling
// restart of the containers, and needs a streaming standby.
func TestPasswordRotationPlan(t *testing.T) {
	cluster := func(roles ...string) *Plan {
		return rotationCluster(t, desired.PostgresSecretPath, roles...)
	}
	plan := cluster("primary", "standby")
	if err := plan.Blocked(); err != nil {
		t.Fatalf("rotation blocked: %v", err)
	}
	text := planText(plan)
	if strings.Contains(text, plan.Inventory.Database.PostgresPassword.Value()) {
		t.Fatal("the plan shows the password")
	}
	golden(t, "rotation-plan.txt", []byte(text))
	var stages []string
	for _, c := range plan.Nodes[0].Changes {
		if c.Kind == "password" || c.Name == desired.PostgresSecretPath {
			stages = append(stages, fmt.Sprint(c.stage))
		}
	}
	if got := strings.Join(stages, ","); got != fmt.Sprintf("%d,%d,%d", StageHost, StagePassword, StageSwap) {
		t.Errorf("primary's rotation stages %s", got)
	}
	if err := cluster("primary", "primary").Blocked(); err == nil || !strings.Contains(err.Error(), "2 primaries") {
		t.Errorf("two primaries: %v", err)
	}
}

func rotationCluster(t *testing.T, path string, roles ...string) *Plan {
	inv := fixture.Example(t)
	plan := &Plan{Inventory: inv}
	for i, n := range inv.Nodes {
		d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		f := nodefacts.Converged(t, d, roles[i])
		f.Iface.HoldsVIP = i == 0
		ff := f.Files[path]
		ff.SHA256 = strings.Repeat("0", 64)
		f.Files[path] = ff
		plan.Nodes = append(plan.Nodes, Build(inv, d, f, Options{}))
	}
	clusterChanges(plan)
	return plan
}

func TestRepmgrPasswordRotationIsRolling(t *testing.T) {
	plan := rotationCluster(t, desired.RepmgrSecretPath, "primary", "standby")
	if err := plan.Blocked(); err != nil {
		t.Fatalf("repmgr rotation blocked: %v", err)
	}
	if strings.Contains(planText(plan), plan.Inventory.Database.RepmgrPassword.Value()) {
		t.Fatal("the plan shows the password")
	}
	golden(t, "repmgr-rotation-plan.txt", []byte(planText(plan)))
	if from, to := plan.Rolling(); from == nil || from.Node.Name != "pg-0" || to != "pg-1" {
		t.Fatalf("rolling: %v -> %q", from, to)
	}
	// Without a streaming standby the restarts would fail the primary over.
	plan = rotationCluster(t, desired.RepmgrSecretPath, "primary", "down")
	if err := plan.Blocked(); err == nil || !strings.Contains(err.Error(), "needs a streaming standby") {
		t.Fatalf("without a streaming standby: %v", err)
	}
}

// witnessFacts is the witness host as apply leaves it.
func witnessFacts(inv *inventory.Inventory) *Facts {
	f := &Facts{Version: probe.Version, Arch: "amd64", HasApt: true, HasSystemd: true, Docker: "24.0.7",
		Files: map[string]FileFact{}, Dirs: map[string]FileFact{}, ImageID: "sha256:1111"}
	check, _ := fixture.FakeCheck("linux", "amd64")
	d := desired.WitnessState(inv, check)
	for _, dir := range d.Dirs {
		f.Dirs[dir.Path] = FileFact{Exists: true, Mode: dir.Mode, UID: dir.UID, GID: dir.GID}
	}
	for _, file := range d.Files {
		f.Files[file.Path] = FileFact{Exists: true, Mode: file.Mode, UID: file.UID, GID: file.GID, SHA256: sha256hex(file.Content)}
	}
	f.Container = &probe.Container{ImageID: "sha256:1111", Status: "running", Spec: d.Container.Label()}
	return f
}

// Adding a witness to a running pair: the nodes' check configuration says
// what changes (no restart), and the witness host gets its agent, password
// files, image and container, last in the order of work; a converged witness
// plans nothing, and a password change recreates it from scratch.
func TestWitnessPlan(t *testing.T) {
	pair := fixture.Example(t)
	inv := fixture.ExampleWitness(t)
	plan := &Plan{Inventory: inv}
	for i, n := range inv.Nodes {
		was, err := desired.DesiredState(pair, pair.Nodes[i], "amd64", fixture.FakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		d, err := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		role := "standby"
		if i == 0 {
			role = "primary"
		}
		plan.Nodes = append(plan.Nodes, Build(inv, d, nodefacts.Converged(t, was, role), Options{}))
	}
	check, _ := fixture.FakeCheck("linux", "amd64")
	bare := &Facts{Version: probe.Version, Arch: "amd64", Docker: "24.0.7", Files: map[string]FileFact{}, Dirs: map[string]FileFact{}}
	plan.Witness = BuildWitness(inv, bare, check)
	text := planText(plan)
	if err := plan.Blocked(); err != nil {
		t.Errorf("adding a witness is blocked: %v", err)
	}
	for _, s := range inv.SecretValues() {
		if strings.Contains(text, s) {
			t.Fatal("plan shows a secret value")
		}
	}
	golden(t, "witness-plan.txt", []byte(text))

	converged := BuildWitness(inv, witnessFacts(inv), check)
	if len(converged.Changes) != 0 {
		t.Errorf("converged witness plans %v", converged.Changes)
	}
	f := witnessFacts(inv)
	f.Files[desired.PostgresSecretPath] = FileFact{Exists: true, Mode: 0o600, UID: desired.ImageUID, GID: desired.ImageUID, SHA256: "old"}
	changed := BuildWitness(inv, f, check)
	var lines []string
	for _, c := range changed.Changes {
		lines = append(lines, c.String())
	}
	if got := strings.Join(lines, "\n"); !strings.Contains(got, "-/+ container pg0: recreate with a new database") || changed.Changes[0].Blocked != "" {
		t.Errorf("password change on the witness:\n%s", got)
	}
}

// A witness registered in repmgr but not in the inventory is unregistered on
// the primary; the inventory's own witness is left alone.
func TestStaleWitnessIsUnregistered(t *testing.T) {
	for _, c := range []struct {
		name string
		inv  *inventory.Inventory
		want bool
	}{
		{"no witness in the inventory", fixture.Example(t), true},
		{"the inventory's witness", fixture.ExampleWitness(t), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := &Plan{Inventory: c.inv}
			for i, n := range c.inv.Nodes {
				d, err := desired.DesiredState(c.inv, n, "amd64", fixture.FakeCheck)
				if err != nil {
					t.Fatal(err)
				}
				role := "standby"
				if i == 0 {
					role = "primary"
				}
				f := nodefacts.Converged(t, d, role)
				f.Database.Repmgr = []nodeapi.RepmgrNode{{ID: 1000, Name: "pg-0", Type: "primary"}, {ID: 1001, Name: "pg-1", Type: "standby"},
					{ID: 1002, Name: "witness-2", Type: "witness"}}
				plan.Nodes = append(plan.Nodes, Build(c.inv, d, f, Options{}))
			}
			clusterChanges(plan)
			got := strings.Join(plan.Lines(), "\n")
			has := strings.Contains(got, "pg-0: - repmgr witness witness-2: unregister")
			if has != c.want || strings.Contains(got, "pg-1: - repmgr") {
				t.Errorf("plan:\n%s", got)
			}
		})
	}
}

// TestPausedFailoverIsResumed: a node whose repmgrd's failover was left
// paused (a killed switchover) is not "in sync": the plan resumes it and
// status calls the cluster degraded, with or without the node's record.
func TestPausedFailoverIsResumed(t *testing.T) {
	inv := fixture.Example(t)
	at := time.Date(2026, 11, 25, 5, 0, 0, 0, time.UTC)
	for _, rec := range []*nodeapi.PauseRecord{nil, {At: at, Until: at.Add(5 * time.Minute), Why: "switchover"}} {
		d, _ := desired.DesiredState(inv, inv.Nodes[1], "amd64", fixture.FakeCheck)
		f := nodefacts.Converged(t, d, "standby")
		f.Database.FailoverPaused, f.Database.Pause = true, rec
		plan := &Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, f, Options{})}}
		clusterChanges(plan)
		want := "~ repmgrd failover: resume automatic failover: no record of the pause on the node"
		if rec != nil {
			want = "~ repmgrd failover: resume automatic failover: paused at 2026-11-25 05:00:00Z (switchover), its own resume due at 05:05:00Z"
		}
		if !strings.Contains(planText(plan), want) {
			t.Errorf("plan lacks %q:\n%s", want, planText(plan))
		}
		cs := plan.Status(status.Options{})
		if cs.Verdict == status.VerdictHealthy || !strings.Contains(strings.Join(cs.Reasons, "\n"), "pg-1: repmgrd's automatic failover is paused") {
			t.Errorf("verdict %s: %q", cs.Verdict, cs.Reasons)
		}
	}
}

// TestStaleVIPOfADeadKeepalivedIsRemoved: keepalived killed leaves the VIP
// on the interface; the plan removes it before starting keepalived again,
// and a VIP on a node whose keepalived runs is keepalived's business.
func TestStaleVIPOfADeadKeepalivedIsRemoved(t *testing.T) {
	inv := fixture.Example(t)
	d, _ := desired.DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
	f := nodefacts.Converged(t, d, "primary")
	f.Iface.HoldsVIP = true
	if np := Build(inv, d, f, Options{}); len(np.Changes) != 0 {
		t.Fatalf("a VIP held by a running keepalived is a change: %v", np.Changes)
	}
	f.Keepalived.Active = "failed"
	np := Build(inv, d, f, Options{})
	if len(np.Changes) != 2 {
		t.Fatalf("changes = %v, want the VIP removed, then keepalived started", np.Changes)
	}
	first, second := np.Changes[0].String(), np.Changes[1].String()
	if !strings.Contains(first, "- vip "+inv.Keepalived.VirtualIPAddress) || !strings.Contains(first, "keepalived is not running (failed)") {
		t.Errorf("first change = %q", first)
	}
	if !strings.Contains(second, "service keepalived: enable and start") {
		t.Errorf("second change = %q", second)
	}
}
