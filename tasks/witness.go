package tasks

import (
	"fmt"
	"path"
	"sort"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// The witness host runs the database image in repmgr's witness role
// (REPMGR_NODE_TYPE=witness): a PostgreSQL of its own with a copy of
// repmgr's metadata and no user data. haup places on it the agent (for facts
// and drills), the two password files and the container; no keepalived, no
// VIP, no health check.

// witnessProbeRequest asks for the witness's resources only.
func witnessProbeRequest(inv *inventory.Inventory) probe.Request {
	req := probe.Request{Image: inv.Database.Image, Container: inv.Database.ContainerName, Staging: StagingRoot}
	for _, f := range witnessFiles(inv, nil) {
		req.Files = append(req.Files, probe.FileRequest{Path: f.Path, Text: !f.Binary && !f.Sensitive})
	}
	for _, d := range witnessDirs(inv) {
		req.Dirs = append(req.Dirs, d.Path)
	}
	return req
}

func witnessDirs(inv *inventory.Inventory) []Dir {
	return append([]Dir{
		{Path: path.Dir(nodeapi.BinaryPath), Mode: 0o755},
		{Path: secretsDir, Mode: 0o700},
	}, append(volumeDirs(inv), tlsDirs(inv)...)...)
}

func witnessFiles(inv *inventory.Inventory, check []byte) []File {
	return append(tlsFiles(inv), []File{
		{Path: nodeapi.BinaryPath, Mode: 0o755, Binary: true, Content: check},
		{Path: postgresSecretPath, Mode: 0o600, UID: imageUID, GID: imageUID, Sensitive: true,
			Content: []byte(inv.Database.PostgresPassword.Value()), Password: true},
		{Path: repmgrSecretPath, Mode: 0o600, UID: imageUID, GID: imageUID, Sensitive: true,
			Content: []byte(inv.Database.RepmgrPassword.Value()), Password: true},
		{Path: postgresConfPath(inv), Mode: 0o644, Content: postgresConf(), Effect: postgresConfEffect},
	}...)
}

// witnessContainerSpec is a node's container spec for the witness: its own
// name and address, the nodes as partners (it registers with the one that
// is primary), and the witness role.
func witnessContainerSpec(inv *inventory.Inventory) ContainerSpec {
	spec := containerSpec(inv, inv.WitnessNode())
	spec.Env["REPMGR_NODE_TYPE"] = "witness"
	// A witness is never promoted: no promotion gate. It keeps haup-check
	// as its entrypoint, which writes repmgr's passfile (and skips the
	// start gate's rules for a witness).
	var mounts []Mount
	for _, m := range spec.Mounts {
		if m.Target != nodeapi.GateInContainer && m.Target != "/bitnami/repmgr/conf" {
			mounts = append(mounts, m)
		}
	}
	spec.Mounts, spec.RepmgrConf = mounts, ""
	return spec
}

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
	np := &NodePlan{Node: inv.WitnessNode(), Facts: f}
	secrets := inv.SecretValues()
	add := func(c ...Change) { np.Changes = append(np.Changes, c...) }
	add(leftoverChanges(f)...)
	for _, dir := range witnessDirs(inv) {
		add(dirChanges(dir, f.Dirs[dir.Path])...)
		np.Resources++
	}
	passwords, tls := false, false
	for _, file := range witnessFiles(inv, check) {
		cs := fileChanges(file, f.Files[file.Path], secrets)
		if len(cs) > 0 && file.Password && f.Files[file.Path].Exists {
			passwords = true
		}
		if file.Reloads == reloadsTLS && f.Files[file.Path].SHA256 != sha256hex(file.Content) {
			tls = true
		}
		add(cs...)
		np.Resources++
	}
	add(imageChanges(inv.Database.Image, f)...)
	np.Resources++
	spec := witnessContainerSpec(inv)
	cs := containerChanges(spec, f, Options{AllowPrimaryRestart: true}, true)
	if passwords && f.Container != nil {
		cs = []Change{{
			Op: OpReplace, Kind: KindContainer, Name: spec.Name,
			Summary: "recreate with a new database (its passwords are set when it is created; it holds no data, only repmgr's metadata, copied again from the primary)",
			stage:   stageContainer,
			op:      resetWitness{spec: spec, dataDir: inv.Database.DataDir},
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
