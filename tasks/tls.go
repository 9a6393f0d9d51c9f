package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/internal/tlsca"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

// The database's TLS (database.tls): the certificate files haup installs
// on every host, the image's TLS settings and libpq's, and a new
// certificate taken by a reload.

// TLSStoreDir is where haup keeps the CA it creates and the certificate it
// issues for an inventory: beside it, INVENTORY-tls/ (0700; keys 0600).
func TLSStoreDir(inventoryPath string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(inventoryPath, ".yaml"), ".yml")
	return base + "-tls"
}

// The files of TLSStoreDir.
const (
	storeCACert  = "ca.crt"
	storeCAKey   = "ca.key"
	storeSrvCert = "server.crt"
	storeSrvKey  = "server.key"
)

// PrepareTLS fills database.tls's files when haup issues them: the CA
// beside the inventory (created once), and the server certificate, issued
// again when it is missing, not from this CA, names too few of the
// cluster's addresses, or expires within min_valid_days. It returns what it
// did ("" when nothing). Given files (cert_file...) were read by
// validation; nothing to do.
func PrepareTLS(inv *inventory.Inventory, now time.Time) (string, error) {
	t := &inv.Database.TLS
	if !t.Issued() {
		return "", nil
	}
	dir := TLSStoreDir(inv.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("database.tls: haup's CA directory: %w", err)
	}
	// A key issued by a run killed before its rename serves nothing.
	os.Remove(filepath.Join(dir, storeSrvKey+".new"))
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	var did []string
	ca, err := read(storeCACert)
	if err != nil {
		return "", err
	}
	caKey, err := read(storeCAKey)
	if err != nil {
		return "", err
	}
	switch {
	case ca == nil && caKey == nil:
		if ca, caKey, err = tlsca.IssueCA("haup CA for "+filepath.Base(inv.Path), now); err != nil {
			return "", err
		}
		// The key first: a CA certificate without its key would stop
		// every later run.
		if err := atomicfile.Write(filepath.Join(dir, storeCAKey), caKey, 0o600); err != nil {
			return "", err
		}
		if err := atomicfile.Write(filepath.Join(dir, storeCACert), ca, 0o644); err != nil {
			return "", err
		}
		did = append(did, "created a CA in "+dir)
	case ca == nil || caKey == nil:
		missing := storeCACert
		if caKey == nil {
			missing = storeCAKey
		}
		return "", fmt.Errorf("database.tls: haup's CA in %s is incomplete (%s is missing): restore it from a backup, or remove the directory to have haup create a new CA, which every client must then trust instead", dir, missing)
	}
	cert, err := read(storeSrvCert)
	if err != nil {
		return "", err
	}
	key, err := read(storeSrvKey)
	if err != nil {
		return "", err
	}
	minValid := time.Duration(t.MinValidDays) * 24 * time.Hour
	why := ""
	if cert == nil || key == nil {
		why = "issued the database's certificate"
	} else if ps := tlsca.Check(ca, cert, key, inv.TLSNames(), now, minValid); len(ps) > 0 {
		why = "issued the database's certificate again: it " + strings.TrimPrefix(ps[0].Msg, "is ")
		if ps[0].File == "key" {
			why = "issued the database's certificate again: its key " + ps[0].Msg
		}
	}
	if why != "" {
		if cert, key, err = tlsca.IssueServer(ca, caKey, inv.TLSNames(), now); err != nil {
			return "", err
		}
		if err := atomicfile.Write(filepath.Join(dir, storeSrvKey+".new"), key, 0o600); err != nil {
			return "", err
		}
		if err := atomicfile.Write(filepath.Join(dir, storeSrvCert), cert, 0o644); err != nil {
			return "", err
		}
		if err := os.Rename(filepath.Join(dir, storeSrvKey+".new"), filepath.Join(dir, storeSrvKey)); err != nil {
			return "", err
		}
		did = append(did, why)
	}
	t.CA, t.Cert, t.Key = ca, cert, key
	return strings.Join(did, "; "), nil
}

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
		return "the database's TLS certificate changes: " + tlsReloadCost
	}
	return []File{
		{Path: path.Join(nodeapi.TLSDir, nodeapi.TLSCAFile), Mode: 0o644, Content: t.CA, Reloads: reloadsTLS, Effect: effect},
		{Path: path.Join(nodeapi.TLSDir, nodeapi.TLSCertFile), Mode: 0o644, Content: t.Cert, Reloads: reloadsTLS, Effect: effect},
		{Path: path.Join(nodeapi.TLSDir, nodeapi.TLSKeyFile), Mode: 0o600, Content: t.Key, Sensitive: true, Reloads: reloadsTLS},
		{Path: servicePath, Mode: 0o644, Content: serviceFile(false)},
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

// servicePath is the service file on the host.
var servicePath = path.Join(nodeapi.TLSDir, serviceFileName)

// serviceFile is the service file: verify-full against the cluster's CA,
// or, during the change that turns TLS on or off, prefer.
func serviceFile(transition bool) []byte {
	if transition {
		return []byte("# Managed by haup: database.tls is being turned on or off; TLS where the\n" +
			"# server offers it until every node serves it (then verify-full) or none does.\n" +
			"[" + serviceName + "]\nsslmode=prefer\n")
	}
	return []byte("# Managed by haup (database.tls): every libpq client in the container\n" +
		"# (repmgr, replication, the image's scripts) verifies the server.\n" +
		"[" + serviceName + "]\nsslmode=verify-full\nsslrootcert=" + path.Join(nodeapi.TLSInContainer, nodeapi.TLSCAFile) + "\n")
}

// servesTLS tells whether the node's container runs with the image's TLS
// on, from the spec haup created it with.
func servesTLS(f *Facts) bool {
	if f == nil || f.Container == nil {
		return false
	}
	var spec ContainerSpec
	if json.Unmarshal([]byte(f.Container.Spec), &spec) != nil {
		return false
	}
	return spec.Env["POSTGRESQL_ENABLE_TLS"] == "yes"
}

// tlsTransition tells whether this plan turns TLS on in a running cluster
// (database.tls is on and some node's container runs without it), or off
// (it is off and some node's container runs with it).
func tlsTransition(inv *inventory.Inventory, facts []*Facts) (on, off bool) {
	for _, f := range facts {
		if f == nil || f.Container == nil {
			continue
		}
		if servesTLS(f) {
			off = off || !inv.Database.TLS.Enabled
		} else {
			on = on || inv.Database.TLS.Enabled
		}
	}
	return on, off
}

// verifyFullChange writes the final service file once every node serves
// TLS, then restarts the container's WAL receiver, connected unverified
// during the change, so that replication reconnects with verify-full.
func verifyFullChange(container string) Change {
	f := File{Path: servicePath, Mode: 0o644, Content: serviceFile(false)}
	return Change{
		Op: OpUpdate, Kind: KindFile, Name: servicePath,
		Summary: "sslmode=verify-full once every node serves TLS; the WAL receiver reconnects (replication pauses a few seconds, the primary keeps taking writes)",
		Diff:    maskedDiff(servicePath, serviceFile(true), f.Content, nil),
		stage:   stageService,
		op:      finishVerifyFull{file: f, container: container},
	}
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

// tlsReloadCost is what a new certificate costs, as the plan says it.
const tlsReloadCost = "PostgreSQL reloads it in the running container (no restart, the VIP stays; new connections use it, open ones keep theirs)"

// tlsReloadChange takes new TLS files into the running database: the key
// copied again for PostgreSQL's user, then a reload. Planned when a TLS
// file changes and the container stays (a recreated one reads them at its
// start).
func tlsReloadChange(container string) Change {
	return Change{
		Op: OpUpdate, Kind: KindDatabase, Name: "TLS certificate",
		Summary: "take the new certificate: " + tlsReloadCost,
		stage:   stageService,
		op:      reloadTLS{container},
	}
}
