package healthcheck

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/haup-project/haup/nodeapi"
)

// UpdateExtensions brings every database's timescaledb and repmgr
// extensions to the version the running image provides, on the primary (the
// standbys follow by replication). TimescaleDB wants ALTER EXTENSION ...
// UPDATE as the first command of a fresh session, with its old library not
// loaded: each update gets a connection of its own with
// timescaledb.disable_load on. It returns one line per update made.
func UpdateExtensions(ctx context.Context, cfg nodeapi.Config, password string) ([]string, error) {
	return updateExtensions(ctx, cfg, password, "'timescaledb', 'repmgr'")
}

func updateExtensions(ctx context.Context, cfg nodeapi.Config, password, names string) ([]string, error) {
	dbs, err := query(ctx, cfg, password, dbName(cfg), "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1")
	if err != nil {
		return nil, err
	}
	var done []string
	for _, row := range dbs {
		db := row[0]
		exts, err := query(ctx, cfg, password, db, `SELECT e.extname, e.extversion, a.default_version
  FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname
  WHERE e.extname IN (`+names+`) AND e.extversion <> a.default_version`)
		if err != nil {
			return done, fmt.Errorf("database %s: %w", db, err)
		}
		for _, e := range exts {
			if err := alterExtension(ctx, cfg, password, db, e[0]); err != nil {
				return done, fmt.Errorf("database %s: ALTER EXTENSION %s UPDATE: %w", db, e[0], err)
			}
			done = append(done, fmt.Sprintf("database %s: %s %s -> %s", db, e[0], e[1], e[2]))
		}
	}
	return done, nil
}

func alterExtension(ctx context.Context, cfg nodeapi.Config, password, db, ext string) error {
	pc, err := connConfig(cfg, password, cfg.Host, cfg.Port, db, "haup-update")
	if err != nil {
		return err
	}
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		return describe(ctx, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "ALTER EXTENSION "+pgIdent(ext)+" UPDATE").ReadAll()
	return err
}

func pgIdent(s string) string {
	out := `"`
	for _, r := range s {
		if r == '"' {
			out += `""`
		} else {
			out += string(r)
		}
	}
	return out + `"`
}
