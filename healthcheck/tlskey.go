package healthcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/nodeapi"
)

// PrepareTLSKey copies the mounted key to POSTGRESQL_TLS_KEY_FILE, owned by
// the image's database user, when haup turned the image's TLS on; nothing
// otherwise.
func PrepareTLSKey(ctx context.Context, getenv func(string) string) error {
	if getenv("POSTGRESQL_ENABLE_TLS") != "yes" || getenv("POSTGRESQL_TLS_KEY_FILE") != nodeapi.TLSKeyInContainer {
		return nil
	}
	src := filepath.Join(nodeapi.TLSInContainer, nodeapi.TLSKeyFile)
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("the TLS key: %w", err)
	}
	uid, gid, err := ImageDaemonUser(ctx, getenv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(nodeapi.TLSKeyInContainer), 0o755); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		uid, gid = -1, -1
	}
	return atomicfile.WriteOwned(nodeapi.TLSKeyInContainer, b, 0o600, uid, gid)
}
