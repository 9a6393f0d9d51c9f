package healthcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haup-project/haup/nodeapi"
)

// TestPasswordRotation: the new password staged beside the live file, set
// inside the database as a SCRAM verifier; the old one stops working, the
// new one works, and the statement never carried the password.
func TestPasswordRotation(t *testing.T) {
	p := newPrimary(t, "log_statement = 'all'\n")
	cfg := p.config()
	dir := t.TempDir()
	cfg.PasswordFile = filepath.Join(dir, "postgres-password")
	os.WriteFile(cfg.PasswordFile, []byte(testPassword+"\n"), 0o600)
	if _, ok := NextPassword(cfg); ok {
		t.Fatal("a next password without a file")
	}
	const newPassword = "n3w-Secret-value"
	os.WriteFile(cfg.PasswordFile+nodeapi.NextSuffix, []byte(newPassword+"\n"), 0o600)
	if next, ok := NextPassword(cfg); !ok || next != newPassword {
		t.Fatalf("next password %q %v", next, ok)
	}
	if err := SetPassword(context.Background(), cfg, testPassword, "postgres", cfg.PasswordFile+nodeapi.NextSuffix); err != nil {
		t.Fatal(err)
	}
	if r := Run(context.Background(), cfg, testPassword); r.Pass || !AuthFailed(r) {
		t.Fatalf("old password after the rotation: %+v", r)
	}
	if r := Run(context.Background(), cfg, newPassword); !r.Pass {
		t.Fatalf("new password after the rotation: %+v", r)
	}
	rows, err := query(context.Background(), cfg, newPassword, "postgres", "SELECT rolpassword LIKE 'SCRAM-SHA-256$4096:%' FROM pg_authid WHERE rolname = 'postgres'")
	if err != nil || rows[0][0] != "t" {
		t.Fatalf("stored password: %v %v", rows, err)
	}
	log, err := os.ReadFile(filepath.Join(p.dir, "log"))
	if err != nil || !strings.Contains(string(log), "ALTER ROLE") {
		t.Fatalf("the server log (log_statement = all) has no ALTER ROLE: %v", err)
	}
	if strings.Contains(string(log), newPassword) {
		t.Fatal("the server log shows the new password")
	}
}
