package tasks

import (
	"context"
	"strings"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"
	"github.com/haup-project/haup/remote"
)

// TestAllowedClientsPlan: on a running pair, allowing clients writes haup's
// pg_hba.conf after the containers, with a reload and no restart (no
// container change); applied, the plan is empty; a changed list is an
// update, and removing the key removes the file and reloads the image's own
// rules. Absent from the start, nothing is planned.
func TestAllowedClientsPlan(t *testing.T) {
	inv := fixture.Example(t)
	n := inv.Nodes[0]
	before, err := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	if before.HBA != nil {
		t.Fatal("allowed_clients absent, yet a pg_hba.conf")
	}
	f := nodefacts.Converged(t, before, "primary")
	f.Files[desired.HBAPath] = FileFact{}
	if p := (&Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, before, f, Options{})}}); !p.Empty() {
		t.Fatalf("allowed_clients absent, a plan:\n%s", planText(p))
	}

	var text strings.Builder
	plan := func(title string) *NodePlan {
		d, err := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
		if err != nil {
			t.Fatal(err)
		}
		np := Build(inv, d, f, Options{})
		text.WriteString("## " + title + "\n")
		text.WriteString(planText(&Plan{Inventory: inv, Nodes: []*NodePlan{np}}))
		for _, c := range np.Changes {
			if c.Kind != "file" || c.Name != desired.HBAPath || c.stage != StageService {
				t.Errorf("%s: %s (stage %d): only pg_hba.conf should change, after the containers", title, c, c.stage)
			}
		}
		if len(np.Changes) != 1 {
			t.Errorf("%s: %d changes, want 1", title, len(np.Changes))
		}
		return np
	}
	inv.Database.AllowedClients, inv.Database.AllowedClientsGiven = []string{"10.2.0.0/16"}, true
	plan("allowed_clients: [10.2.0.0/16] on a running pair")

	d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	f.Files[desired.HBAPath] = FileFact{Exists: true, Mode: 0o644, SHA256: sha256hex(d.HBA), Content: d.HBA}
	if p := (&Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, f, Options{})}}); !p.Empty() {
		t.Fatalf("allowed clients applied, still a plan:\n%s", planText(p))
	}

	inv.Database.AllowedClients = []string{"10.2.0.0/16", "192.0.2.7/32"}
	plan("a client added")

	inv.Database.AllowedClients, inv.Database.AllowedClientsGiven = nil, false
	plan("allowed_clients removed")
	golden(t, "hba-plan.txt", []byte(text.String()))
}

// TestReplaceHBAScript: the rules go into the running container and
// PostgreSQL reloads before the host's file is written, from an upload
// (never through the script); removing them reloads the image's own.
func TestReplaceHBAScript(t *testing.T) {
	for _, c := range []struct {
		name, host string
		content    []byte
	}{
		{"install", desired.HBAPath, []byte("host all all 10.2.0.0/16 md5\n")},
		{"remove", "", []byte(imageHBA)},
	} {
		h := remote.NewFake("pg-0").On("", func(string) (remote.Result, error) { return remote.Result{}, nil })
		if err := run(context.Background(), h, ReplaceHBA{Container: "pg0", Content: c.content, HostPath: c.host}); err != nil {
			t.Fatal(err)
		}
		calls := h.Calls()
		if len(calls) != 1 {
			t.Fatalf("%s: %d scripts, want 1", c.name, len(calls))
		}
		for _, up := range h.Uploaded() {
			if string(up) != string(c.content) {
				t.Errorf("%s: uploaded %q", c.name, up)
			}
		}
		golden(t, "hba-"+c.name+"-script.sh", []byte(calls[0]))
	}
}
