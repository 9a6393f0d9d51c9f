package tasks

import (
	"fmt"
	"sort"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
)

// The witness host (desired.WitnessState): gathered and planned on its own,
// never as one of the plan's nodes.

// WitnessPreflight is Preflight for the witness: root, apt (for the agent's
// facts only), systemd and Docker; it has no VRRP interface.
func WitnessPreflight(f *Facts) []string {
	var p []string
	if f.UID != 0 {
		p = append(p, fmt.Sprintf("commands do not run as root (uid %d)", f.UID))
	}
	if f.Docker == "" {
		msg := "the Docker engine does not answer (is docker installed and running?)"
		if f.DockerError != "" {
			msg += ": " + f.DockerError
		}
		p = append(p, msg)
	}
	return p
}

// BuildWitness plans the witness host: directories, agent and password
// files, image, container. Its container may be recreated at any time (it
// holds no data); a password change recreates it from scratch, since the
// passwords are set when its database is created.
func BuildWitness(inv *inventory.Inventory, f *Facts, check []byte) *NodePlan {
	d := desired.WitnessState(inv, check)
	np := &NodePlan{Node: d.Node, Facts: f}
	secrets := inv.SecretValues()
	add := func(c ...Change) { np.Changes = append(np.Changes, c...) }
	add(leftoverChanges(f)...)
	for _, dir := range d.Dirs {
		add(dirChanges(dir, f.Dirs[dir.Path])...)
		np.Resources++
	}
	passwords, tls := false, false
	for _, file := range d.Files {
		cs := fileChanges(file, f.Files[file.Path], secrets)
		if len(cs) > 0 && file.Password && f.Files[file.Path].Exists {
			passwords = true
		}
		if file.Reloads == desired.ReloadsTLS && f.Files[file.Path].SHA256 != sha256hex(file.Content) {
			tls = true
		}
		add(cs...)
		np.Resources++
	}
	add(imageChanges(inv.Database.Image, f)...)
	np.Resources++
	spec := d.Container
	cs := containerChanges(spec, f, Options{AllowPrimaryRestart: true}, true)
	if passwords && f.Container != nil {
		cs = []Change{{
			Op: OpReplace, Kind: KindContainer, Name: spec.Name,
			Summary: "recreate with a new database (its passwords are set when it is created; it holds no data, only repmgr's metadata, copied again from the primary)",
			stage:   StageContainer,
			task:    ResetWitness{Spec: spec, DataDir: inv.Database.DataDir},
		}}
	}
	if tls && len(cs) == 0 && f.Container != nil {
		cs = append(cs, tlsReloadChange(spec.Name))
	}
	add(cs...)
	np.Resources++
	sort.SliceStable(np.Changes, func(i, j int) bool { return np.Changes[i].stage < np.Changes[j].stage })
	return np
}
