package desired

import (
	"path"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

// The database's TLS (database.tls), as each host should have it: the
// certificate files, the image's TLS settings and libpq's. The files'
// content is the inventory's (tasks.PrepareTLS fills it when haup issues
// the certificate).

// tlsDirs is TLSDir when database.tls is on.
func tlsDirs(inv *inventory.Inventory) []Dir {
	if !inv.Database.TLS.Enabled {
		return nil
	}
	return []Dir{{Path: nodeapi.TLSDir, Mode: 0o755}}
}

// tlsFiles are the CA, the certificate and its key on a host, when
// database.tls is on; a change of any of them is taken by a reload.
func tlsFiles(inv *inventory.Inventory) []File {
	t := inv.Database.TLS
	if !t.Enabled {
		return nil
	}
	effect := func([]byte) string {
		return "the database's TLS certificate changes: " + TLSReloadCost
	}
	return []File{
		{Path: path.Join(nodeapi.TLSDir, nodeapi.TLSCAFile), Mode: 0o644, Content: t.CA, Reloads: ReloadsTLS, Effect: effect},
		{Path: path.Join(nodeapi.TLSDir, nodeapi.TLSCertFile), Mode: 0o644, Content: t.Cert, Reloads: ReloadsTLS, Effect: effect},
		{Path: path.Join(nodeapi.TLSDir, nodeapi.TLSKeyFile), Mode: 0o600, Content: t.Key, Sensitive: true, Reloads: ReloadsTLS},
		{Path: ServicePath, Mode: 0o644, Content: ServiceFile(false)},
	}
}

// tlsEnv are the container's TLS settings: the image's (its certificate
// and the key the start gate copies) and libpq's for every client in the
// container, repmgr, replication and the image's scripts (verify-full).
func tlsEnv(inv *inventory.Inventory) map[string]string {
	if !inv.Database.TLS.Enabled {
		return nil
	}
	return map[string]string{
		"POSTGRESQL_ENABLE_TLS":    "yes",
		"POSTGRESQL_TLS_CERT_FILE": path.Join(nodeapi.TLSInContainer, nodeapi.TLSCertFile),
		"POSTGRESQL_TLS_KEY_FILE":  nodeapi.TLSKeyInContainer,
		"PGSERVICEFILE":            path.Join(nodeapi.TLSInContainer, serviceFileName),
		"PGSERVICE":                serviceName,
	}
}

// libpq's settings for every client in the container come from a service
// file (PGSERVICEFILE, PGSERVICE in the container's environment) rather
// than from PGSSLMODE: a file changes without recreating the container. The
// container that first serves TLS (a standby, in a rolling change) still
// replicates from a primary that does not: until every node serves TLS its
// clients use TLS where the server offers it (sslmode=prefer), and the
// plan's services stage writes verify-full, then restarts the WAL
// receivers so that replication reconnects verified.
const (
	serviceFileName = "pg_service.conf"
	serviceName     = "haup"
)

// ServicePath is libpq's service file on the host, in the directory
// mounted into the container.
var ServicePath = path.Join(nodeapi.TLSDir, serviceFileName)

// ServiceFile is the service file: verify-full against the cluster's CA,
// or, during the change that turns TLS on or off (transition), prefer.
func ServiceFile(transition bool) []byte {
	if transition {
		return []byte("# Managed by haup: database.tls is being turned on or off; TLS where the\n" +
			"# server offers it until every node serves it (then verify-full) or none does.\n" +
			"[" + serviceName + "]\nsslmode=prefer\n")
	}
	return []byte("# Managed by haup (database.tls): every libpq client in the container\n" +
		"# (repmgr, replication, the image's scripts) verifies the server.\n" +
		"[" + serviceName + "]\nsslmode=verify-full\nsslrootcert=" + path.Join(nodeapi.TLSInContainer, nodeapi.TLSCAFile) + "\n")
}

// tlsMounts mounts TLSDir in the container, read-only.
func tlsMounts(inv *inventory.Inventory) []Mount {
	if !inv.Database.TLS.Enabled {
		return nil
	}
	return []Mount{{Source: nodeapi.TLSDir, Target: nodeapi.TLSInContainer, ReadOnly: true}}
}

// tlsRootCert is the CA the agent verifies the databases with, or "".
func tlsRootCert(inv *inventory.Inventory) string {
	if !inv.Database.TLS.Enabled {
		return ""
	}
	return path.Join(nodeapi.TLSDir, nodeapi.TLSCAFile)
}

// TLSReloadCost is what a new certificate costs, as the plan says it.
const TLSReloadCost = "PostgreSQL reloads it in the running container (no restart, the VIP stays; new connections use it, open ones keep theirs)"
