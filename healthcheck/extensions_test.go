package healthcheck

import (
	"context"
	"strings"
	"testing"
)

// TestUpdateExtensions updates an extension created at an old version, in
// every database that has it, and then has nothing left to do. pg_trgm
// stands in for timescaledb and repmgr: an extension with upgrade scripts
// this machine's PostgreSQL has.
func TestUpdateExtensions(t *testing.T) {
	p := newPrimary(t, "")
	cfg := p.config()
	ctx := context.Background()
	if _, err := query(ctx, cfg, testPassword, "postgres", "CREATE DATABASE app"); err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{"postgres", "app"} {
		if _, err := query(ctx, cfg, testPassword, db, "CREATE EXTENSION pg_trgm VERSION '1.3'"); err != nil {
			t.Skipf("pg_trgm 1.3 not available: %v", err)
		}
	}
	done, err := updateExtensions(ctx, cfg, testPassword, "'pg_trgm'")
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || !strings.Contains(done[0], "database app: pg_trgm 1.3 -> ") || !strings.Contains(done[1], "database postgres: pg_trgm 1.3 -> ") {
		t.Fatalf("updates: %q", done)
	}
	rows, _ := query(ctx, cfg, testPassword, "app", "SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'pg_trgm') FROM pg_extension WHERE extname = 'pg_trgm'")
	if len(rows) != 1 || rows[0][0] != "t" {
		t.Fatalf("pg_trgm not at the default version: %v", rows)
	}
	if done, err := updateExtensions(ctx, cfg, testPassword, "'pg_trgm'"); err != nil || len(done) != 0 {
		t.Fatalf("second run: %q, %v", done, err)
	}
	// The real list runs clean on a database without timescaledb or repmgr.
	if done, err := UpdateExtensions(ctx, cfg, testPassword); err != nil || len(done) != 0 {
		t.Fatalf("UpdateExtensions: %q, %v", done, err)
	}
}
