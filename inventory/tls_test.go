package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/tlsca"
)

// TestTLSSection: absent is off; {} has haup issue the certificate; given
// files are checked against each other, the cluster's addresses and the
// clock, each problem at the line of the file's key.
func TestTLSSection(t *testing.T) {
	now := time.Now()
	ca, caKey, _ := tlsca.IssueCA("test", now)
	good := []string{"10.1.0.100", "10.1.0.11", "10.1.0.12", "127.0.0.1"}
	cert, key, _ := tlsca.IssueServer(ca, caKey, good, now)
	_, otherKey, _ := tlsca.IssueServer(ca, caKey, good, now)
	narrow, narrowKey, _ := tlsca.IssueServer(ca, caKey, good[1:], now)
	old, oldKey, _ := tlsca.IssueServer(ca, caKey, good, now.Add(-340*24*time.Hour))

	load := func(t *testing.T, section string, files map[string][]byte, keyMode os.FileMode) (*Inventory, error) {
		t.Helper()
		dir := t.TempDir()
		for name, b := range files {
			mode := os.FileMode(0o644)
			if strings.HasSuffix(name, ".key") {
				mode = keyMode
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(filepath.Join(dir, name), mode)
		}
		os.Symlink(mustAbs(t, "testdata/secrets"), filepath.Join(dir, "secrets"))
		p := filepath.Join(dir, "inv.yaml")
		const at = "  repmgr_password: {file: secrets/rm}\n"
		os.WriteFile(p, []byte(strings.Replace(goodInventory, at, at+section, 1)), 0o600)
		return Load(p)
	}
	given := "  tls:\n    ca_file: ca.crt\n    cert_file: server.crt\n    key_file: server.key\n"
	set := func(c, k []byte) map[string][]byte {
		return map[string][]byte{"ca.crt": ca, "server.crt": c, "server.key": k}
	}
	cases := []struct {
		name, section string
		files         map[string][]byte
		keyMode       os.FileMode
		problem       string
	}{
		{"given, good", given, set(cert, key), 0o600, ""},
		{"issued by haup", "  tls: {}\n", nil, 0, ""},
		{"issued, clear text allowed", "  tls: {require: false, min_valid_days: 60}\n", nil, 0, ""},
		{"key of another certificate", given, set(cert, otherKey), 0o600, "inv.yaml:13: database.tls.key_file: server.key does not match the certificate"},
		{"key readable by others", given, set(cert, key), 0o644, "inv.yaml:13: database.tls.key_file: server.key is readable by others (mode 0644)"},
		{"a name missing", given, set(narrow, narrowKey), 0o600, "inv.yaml:12: database.tls.cert_file: server.crt does not name 10.1.0.100"},
		{"expires too soon", given, set(old, oldKey), 0o600, "database.tls.cert_file: server.crt expires on"},
		{"one file alone", "  tls:\n    cert_file: server.crt\n", set(cert, key), 0o600, "inv.yaml:11: database.tls.cert_file: cert_file given without ca_file and key_file"},
		{"missing file", given, map[string][]byte{"ca.crt": ca, "server.crt": cert}, 0o600, "database.tls.key_file: cannot read server.key: no such file or directory"},
		{"not PEM", given, set([]byte("hello"), key), 0o600, "database.tls.cert_file: server.crt no PEM certificate in it"},
		{"zero days", "  tls: {min_valid_days: 0}\n", nil, 0, "database.tls.min_valid_days: 0 is out of range"},
		{"unknown field", "  tls: {cert: x}\n", nil, 0, `inv.yaml:10: unknown field "cert" in tls (did you mean cert_file?)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, c.section, c.files, c.keyMode)
			wantProblem(t, err, c.problem)
		})
	}
	inv, err := load(t, given, set(cert, key), 0o600)
	if err != nil || !inv.Database.TLS.Enabled || inv.Database.TLS.Issued() || !inv.Database.TLS.Require ||
		inv.Database.TLS.MinValidDays != 30 || string(inv.Database.TLS.Key) != string(key) {
		t.Errorf("given: %+v, %v", inv.Database.TLS.Enabled, err)
	}
	inv, err = load(t, "  tls:\n", nil, 0)
	if err != nil || inv.Database.TLS.Enabled {
		t.Errorf("null: enabled %v, %v", inv.Database.TLS.Enabled, err)
	}
	inv, err = load(t, "  tls: {require: false}\n", nil, 0)
	if err != nil || !inv.Database.TLS.Issued() || inv.Database.TLS.Require {
		t.Errorf("require false: %+v, %v", inv.Database.TLS, err)
	}
}
