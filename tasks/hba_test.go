package tasks

import (
	"strings"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"
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
	// task is the task of the node's one change.
	task := func(np *NodePlan) Task {
		if len(np.Changes) == 0 {
			return nil
		}
		return np.Changes[0].Task()
	}
	inv.Database.AllowedClients, inv.Database.AllowedClientsGiven = []string{"10.2.0.0/16"}, true
	added := plan("allowed_clients: [10.2.0.0/16] on a running pair")

	d, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	// Apply puts the rules into the running container, then on the host
	// (apply's TestReplaceHBAScript).
	if r, ok := task(added).(ReplaceHBA); !ok || r.Container != inv.Database.ContainerName ||
		string(r.Content) != string(d.HBA) || r.HostPath != desired.HBAPath {
		t.Errorf("allowed_clients added: task %#v", task(added))
	}
	f.Files[desired.HBAPath] = FileFact{Exists: true, Mode: 0o644, SHA256: sha256hex(d.HBA), Content: d.HBA}
	if p := (&Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, f, Options{})}}); !p.Empty() {
		t.Fatalf("allowed clients applied, still a plan:\n%s", planText(p))
	}

	inv.Database.AllowedClients = []string{"10.2.0.0/16", "192.0.2.7/32"}
	plan("a client added")

	inv.Database.AllowedClients, inv.Database.AllowedClientsGiven = nil, false
	removed := plan("allowed_clients removed")
	// The image's own rules into the running container, the host's file
	// removed.
	if r, ok := task(removed).(ReplaceHBA); !ok || r.Container != inv.Database.ContainerName ||
		string(r.Content) != imageHBA || r.HostPath != "" {
		t.Errorf("allowed_clients removed: task %#v", task(removed))
	}
	golden(t, "hba-plan.txt", []byte(text.String()))
}
