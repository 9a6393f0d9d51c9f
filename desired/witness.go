package desired

import (
	"path"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

// The witness host runs the database image in repmgr's witness role
// (REPMGR_NODE_TYPE=witness): a PostgreSQL of its own with a copy of
// repmgr's metadata and no user data. haup places on it the agent (for facts
// and drills), the two password files and the container; no keepalived, no
// VIP, no health check.

// WitnessState is the desired state of the witness host: its directories,
// the agent (check, nil when only the list is wanted), the password files,
// PostgreSQL's settings and the TLS files, and its container. HBA is nil:
// haup places no pg_hba.conf there.
func WitnessState(inv *inventory.Inventory, check []byte) *Desired {
	return &Desired{Node: inv.WitnessNode(), Dirs: witnessDirs(inv), Files: witnessFiles(inv, check), Container: witnessContainerSpec(inv)}
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
		{Path: PostgresSecretPath, Mode: 0o600, UID: ImageUID, GID: ImageUID, Sensitive: true,
			Content: []byte(inv.Database.PostgresPassword.Value()), Password: true},
		{Path: RepmgrSecretPath, Mode: 0o600, UID: ImageUID, GID: ImageUID, Sensitive: true,
			Content: []byte(inv.Database.RepmgrPassword.Value()), Password: true},
		{Path: postgresConfPath(inv), Mode: 0o644, Content: postgresConf(), Effect: postgresConfEffect},
	}...)
}

// witnessContainerSpec is a node's container spec for the witness: its own
// name and address, the nodes as partners (it registers with the one that
// is primary), and the witness role.
func witnessContainerSpec(inv *inventory.Inventory) ContainerSpec {
	spec := Container(inv, inv.WitnessNode())
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
