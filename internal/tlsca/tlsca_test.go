package tlsca

import (
	"strings"
	"testing"
	"time"
)

func addrs(s ...string) []string { return s }

func TestIssueAndCheck(t *testing.T) {
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	ca, caKey, err := IssueCA("test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	want := addrs("10.0.0.10", "10.0.0.11", "10.0.0.100", "127.0.0.1")
	cert, key, err := IssueServer(ca, caKey, append(want, "db.example.org"), now)
	if err != nil {
		t.Fatal(err)
	}
	if p := Check(ca, cert, key, append(want, "db.example.org"), now, 30*24*time.Hour); len(p) != 0 {
		t.Fatalf("a good set: %v", p)
	}
	c, _ := ParseCert(cert)
	if d := DaysLeft(c, now); d != 365 {
		t.Errorf("days left %d, want 365", d)
	}

	other, otherKey, _ := IssueCA("other CA", now)
	_, key2, _ := IssueServer(ca, caKey, want, now)
	cert3, key3, _ := IssueServer(other, otherKey, want, now)
	old, oldKey, _ := IssueServer(ca, caKey, want, now.Add(-400*24*time.Hour))
	soon, soonKey, _ := IssueServer(ca, caKey, want, now.Add(-350*24*time.Hour))
	narrow, narrowKey, _ := IssueServer(ca, caKey, addrs("10.0.0.10"), now)
	cases := []struct {
		name          string
		ca, cert, key []byte
		file, msg     string
	}{
		{"key of another certificate", ca, cert, key2, "key", "does not match the certificate"},
		{"another CA", ca, cert3, key3, "cert", "is not valid for a server under the CA"},
		{"expired", ca, old, oldKey, "cert", "expired on"},
		{"expires within min_valid_days", ca, soon, soonKey, "cert", "fewer than min_valid_days (30)"},
		{"names too few", ca, narrow, narrowKey, "cert", "does not name 10.0.0.11, 10.0.0.100, 127.0.0.1"},
		{"not PEM", []byte("junk"), cert, key, "ca", "no PEM certificate"},
		{"key not PEM", ca, cert, []byte("junk"), "key", "no PEM private key"},
		{"encrypted key", ca, cert, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "key", "is encrypted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := Check(c.ca, c.cert, c.key, want, now, 30*24*time.Hour)
			for _, p := range ps {
				if p.File == c.file && strings.Contains(p.Msg, c.msg) {
					return
				}
			}
			t.Errorf("want a problem of %s containing %q, got %v", c.file, c.msg, ps)
		})
	}
}

func TestChainWithIntermediateInCertFile(t *testing.T) {
	// The operator's certificate file may carry intermediates after the
	// leaf; a leaf alone issued by the root is the common case, checked
	// above. Here: a leaf plus the CA itself appended (harmless).
	now := time.Now()
	ca, caKey, _ := IssueCA("root", now)
	cert, key, _ := IssueServer(ca, caKey, addrs("192.0.2.1"), now)
	if p := Check(ca, append(cert, ca...), key, addrs("192.0.2.1"), now, 0); len(p) != 0 {
		t.Fatal(p)
	}
}
