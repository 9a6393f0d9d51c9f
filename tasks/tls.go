package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/internal/tlsca"
	"github.com/haup-project/haup/inventory"
)

// The database's TLS (database.tls): haup's CA and certificate beside the
// inventory, whether the containers serve TLS, the change that turns it on
// or off, and a new certificate taken by a reload. The files, the image's
// settings and libpq's are the desired state's (package desired).

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

// servesTLS tells whether the node's container runs with the image's TLS
// on, from the spec haup created it with.
func servesTLS(f *Facts) bool {
	if f == nil || f.Container == nil {
		return false
	}
	var spec desired.ContainerSpec
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
	f := desired.File{Path: desired.ServicePath, Mode: 0o644, Content: desired.ServiceFile(false)}
	return Change{
		Op: OpUpdate, Kind: KindFile, Name: desired.ServicePath,
		Summary: "sslmode=verify-full once every node serves TLS; the WAL receiver reconnects (replication pauses a few seconds, the primary keeps taking writes)",
		Diff:    maskedDiff(desired.ServicePath, desired.ServiceFile(true), f.Content, nil),
		stage:   StageService,
		task:    FinishVerifyFull{File: f, Container: container},
	}
}

// tlsReloadChange takes new TLS files into the running database: the key
// copied again for PostgreSQL's user, then a reload. Planned when a TLS
// file changes and the container stays (a recreated one reads them at its
// start).
func tlsReloadChange(container string) Change {
	return Change{
		Op: OpUpdate, Kind: KindDatabase, Name: "TLS certificate",
		Summary: "take the new certificate: " + desired.TLSReloadCost,
		stage:   StageService,
		task:    ReloadTLS{container},
	}
}
