package status

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/tlsca"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// TestTLSStatus: status reads the certificate each node has: its expiry in
// the notes, degraded within min_valid_days, critical once expired, and
// what to do said for haup's certificate and for the operator's.
func TestTLSStatus(t *testing.T) {
	inv := fixture.Example(t)
	inv.Database.TLS.Enabled, inv.Database.TLS.Require, inv.Database.TLS.MinValidDays = true, true, 30
	now := time.Now()
	// A certificate as haup issues it (tasks.PrepareTLS), valid a year.
	ca, caKey, err := tlsca.IssueCA("haup CA for cluster.yaml", now)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := tlsca.IssueServer(ca, caKey, inv.TLSNames(), now)
	if err != nil {
		t.Fatal(err)
	}
	f := &probe.Facts{Files: map[string]probe.FileFact{}}
	crt := filepath.Join(nodeapi.TLSDir, nodeapi.TLSCertFile)
	f.Files[crt] = probe.FileFact{Exists: true, Content: cert}
	c := tlsCertificateOf(inv, f, now)
	if c == nil || c.DaysLeft != 364 && c.DaysLeft != 365 || !c.Issued {
		t.Fatalf("a new certificate: %+v", c)
	}
	if msg, _ := tlsProblem("pg-0", c); msg != "" {
		t.Errorf("a new certificate: %q", msg)
	}
	msg, crit := tlsProblem("pg-0", tlsCertificateOf(inv, f, now.Add(340*24*time.Hour)))
	if crit || !strings.Contains(msg, "pg-0: the database's TLS certificate expires on") || !strings.Contains(msg, "`haup apply` installs a new one") {
		t.Errorf("within min_valid_days: %q %v", msg, crit)
	}
	inv.Database.TLS.CertFile = "given.crt"
	msg, crit = tlsProblem("pg-0", tlsCertificateOf(inv, f, now.Add(400*24*time.Hour)))
	if !crit || !strings.Contains(msg, "expired on") || !strings.Contains(msg, "give a new database.tls.cert_file") {
		t.Errorf("expired, given: %q %v", msg, crit)
	}
	f.Files[crt] = probe.FileFact{}
	if msg, _ := tlsProblem("pg-0", tlsCertificateOf(inv, f, now)); !strings.Contains(msg, "cannot be read (not installed)") {
		t.Errorf("missing: %q", msg)
	}
	inv.Database.TLS.Enabled = false
	if c := tlsCertificateOf(inv, f, now); c != nil {
		t.Errorf("TLS off: %+v", c)
	}
}
