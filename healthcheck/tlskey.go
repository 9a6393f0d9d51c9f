package healthcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/haup-project/haup/internal/atomicfile"
)

// The database's TLS (database.tls). haup installs the CA, the certificate
// and its key in TLSDir on the host (the key root-only), mounted read-only
// at TLSInContainer. PostgreSQL refuses a key that its own user cannot read
// or that others can, and the image only chmods the key, so the start gate
// copies it into the container's /tmp (a tmpfs), owned by the user
// PostgreSQL runs as, mode 0600: TLSKeyInContainer, the image's
// POSTGRESQL_TLS_KEY_FILE. A certificate rotation copies it again in the
// running container (haup-check tls-key) before PostgreSQL reloads.
const (
	TLSDir            = "/etc/haup/tls"
	TLSInContainer    = "/opt/haup/tls"
	TLSKeyInContainer = "/tmp/haup-tls/server.key"
	// The files' names in TLSDir.
	TLSCAFile   = "ca.crt"
	TLSCertFile = "server.crt"
	TLSKeyFile  = "server.key"
)

// PrepareTLSKey copies the mounted key to POSTGRESQL_TLS_KEY_FILE, owned by
// the image's database user, when haup turned the image's TLS on; nothing
// otherwise.
func PrepareTLSKey(ctx context.Context, getenv func(string) string) error {
	if getenv("POSTGRESQL_ENABLE_TLS") != "yes" || getenv("POSTGRESQL_TLS_KEY_FILE") != TLSKeyInContainer {
		return nil
	}
	src := filepath.Join(TLSInContainer, TLSKeyFile)
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("the TLS key: %w", err)
	}
	uid, gid, err := ImageDaemonUser(ctx, getenv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(TLSKeyInContainer), 0o755); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		uid, gid = -1, -1
	}
	return atomicfile.WriteOwned(TLSKeyInContainer, b, 0o600, uid, gid)
}
