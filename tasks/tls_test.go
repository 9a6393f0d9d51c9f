package tasks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/fixture/nodefacts"
	"github.com/haup-project/haup/internal/tlsca"
	"github.com/haup-project/haup/nodeapi"
)

// TestPrepareTLS: haup creates its CA once beside the inventory (keys
// 0600), issues the certificate for the cluster's names, keeps it while it
// serves, and issues it again when it expires within min_valid_days or a
// name is missing; an incomplete CA is an error, never a new CA.
func TestPrepareTLS(t *testing.T) {
	inv := fixture.Example(t)
	inv.Path = filepath.Join(t.TempDir(), "cluster.yaml")
	inv.Database.TLS.Enabled, inv.Database.TLS.Require, inv.Database.TLS.MinValidDays = true, true, 30
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	did, err := PrepareTLS(inv, now)
	if err != nil || !strings.Contains(did, "created a CA") || !strings.Contains(did, "issued the database's certificate") {
		t.Fatalf("first: %q, %v", did, err)
	}
	dir := TLSStoreDir(inv.Path)
	if dir != strings.TrimSuffix(inv.Path, ".yaml")+"-tls" {
		t.Errorf("store %s", dir)
	}
	for name, want := range map[string]os.FileMode{"ca.key": 0o600, "server.key": 0o600, "ca.crt": 0o644, "server.crt": 0o644, ".": 0o700} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %04o", name, st.Mode(), err, want)
		}
	}
	if ps := tlsca.Check(inv.Database.TLS.CA, inv.Database.TLS.Cert, inv.Database.TLS.Key, inv.TLSNames(), now, 0); len(ps) > 0 {
		t.Fatalf("issued certificate: %v", ps)
	}
	first := string(inv.Database.TLS.Cert)

	did, err = PrepareTLS(inv, now.Add(300*24*time.Hour))
	if err != nil || did != "" || string(inv.Database.TLS.Cert) != first {
		t.Fatalf("within its validity: %q, %v, same %v", did, err, string(inv.Database.TLS.Cert) == first)
	}
	did, err = PrepareTLS(inv, now.Add(340*24*time.Hour))
	if err != nil || !strings.Contains(did, "issued the database's certificate again: it expires on") || string(inv.Database.TLS.Cert) == first {
		t.Fatalf("30 days before expiry: %q, %v", did, err)
	}
	inv.Nodes[1].DatabaseAddress = "192.168.89.140"
	did, err = PrepareTLS(inv, now.Add(340*24*time.Hour))
	if err != nil || !strings.Contains(did, "does not name 192.168.89.140") {
		t.Fatalf("a new address: %q, %v", did, err)
	}
	os.Remove(filepath.Join(dir, "ca.key"))
	if _, err := PrepareTLS(inv, now); err == nil || !strings.Contains(err.Error(), "ca.key is missing") {
		t.Fatalf("CA without its key: %v", err)
	}
}

// TestTLSPlan: turning TLS on for a running pair installs the files before
// the containers, recreates the containers (their settings change) and
// writes hostssl rules; applied, nothing; a new certificate is a reload
// alone, the key never shown.
func TestTLSPlan(t *testing.T) {
	inv := fixture.Example(t)
	inv.Path = filepath.Join(t.TempDir(), "cluster.yaml")
	n := inv.Nodes[0]
	before, err := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	f := nodefacts.Converged(t, before, "primary")
	f.Files[desired.HBAPath] = FileFact{}
	inv.Database.TLS.Enabled, inv.Database.TLS.Require, inv.Database.TLS.MinValidDays = true, true, 30
	now := time.Now()
	if _, err := PrepareTLS(inv, now); err != nil {
		t.Fatal(err)
	}
	d, err := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	if d.Container.Env["PGSERVICE"] != "haup" || d.Container.Env["POSTGRESQL_TLS_KEY_FILE"] != nodeapi.TLSKeyInContainer ||
		!strings.Contains(string(d.HBA), "hostssl all          all   0.0.0.0/0") {
		t.Fatalf("desired: env %v\n%s", d.Container.Env, d.HBA)
	}
	if on, _ := tlsTransition(inv, []*Facts{f}); !on {
		t.Fatal("a container without TLS: no transition")
	}
	np := Build(inv, d, f, Options{AllowPrimaryRestart: true, tlsOn: true})
	text := planText(&Plan{Inventory: inv, Nodes: []*NodePlan{np}})
	for _, want := range []string{"+ file /etc/haup/tls/server.key", "(sensitive content not shown)", "container pg", "hostssl",
		"+sslmode=prefer", "after the containers: the agent connects with TLS", "+sslmode=verify-full", "the WAL receiver reconnects"} {
		if !strings.Contains(text, want) {
			t.Errorf("turning TLS on: no %q in\n%s", want, text)
		}
	}
	// In order: the service file's transition on the host, the containers,
	// then the agent's TLS, verify-full and haup's hostssl rules.
	var order []string
	for _, c := range np.Changes {
		switch {
		case c.Name == desired.ServicePath, c.Name == nodeapi.ConfigPath, c.Name == desired.HBAPath, c.Kind == "container":
			order = append(order, fmt.Sprintf("%d %s", c.stage, c.Name))
		}
	}
	want := fmt.Sprintf("%d %s,%d %s,%d %s,%d %s,%d %s", StageHost, desired.ServicePath, StageContainer, d.Container.Name, StageService, nodeapi.ConfigPath,
		StageService, desired.ServicePath, StageService, desired.HBAPath)
	if strings.Join(order, ",") != want {
		t.Errorf("order:\n%s\nwant\n%s", strings.Join(order, ","), want)
	}
	if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "TLS certificate") {
		t.Errorf("the key shown, or a reload planned beside the recreate:\n%s", text)
	}

	// Applied: the facts say so.
	applied := nodefacts.Converged(t, d, "primary")
	applied.Files[desired.HBAPath] = FileFact{Exists: true, Mode: 0o644, SHA256: sha256hex(d.HBA), Content: d.HBA}
	if p := (&Plan{Inventory: inv, Nodes: []*NodePlan{Build(inv, d, applied, Options{})}}); !p.Empty() {
		t.Fatalf("TLS applied, still a plan:\n%s", planText(p))
	}

	if on, off := tlsTransition(inv, []*Facts{applied}); on || off {
		t.Error("every container serves TLS: still a transition")
	}
	// An apply killed after the containers left the transitional service
	// file: the next plan finishes with verify-full and the WAL receiver's
	// restart, nothing else.
	killed := nodefacts.Converged(t, d, "primary")
	killed.Files[desired.HBAPath] = applied.Files[desired.HBAPath]
	killed.Files[desired.ServicePath] = FileFact{Exists: true, Mode: 0o644, SHA256: sha256hex(desired.ServiceFile(true)), Content: desired.ServiceFile(true)}
	np = Build(inv, d, killed, Options{})
	if len(np.Changes) != 1 || np.Changes[0].Name != desired.ServicePath || np.Changes[0].stage != StageService ||
		!strings.Contains(np.Changes[0].Summary, "the WAL receiver reconnects") {
		t.Errorf("after an apply killed mid-change:\n%s", planText(&Plan{Inventory: inv, Nodes: []*NodePlan{np}}))
	}
	// A renewed certificate: files and one reload, nothing else.
	os.Remove(filepath.Join(TLSStoreDir(inv.Path), "server.crt"))
	if _, err := PrepareTLS(inv, now); err != nil {
		t.Fatal(err)
	}
	d2, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	np = Build(inv, d2, applied, Options{})
	text = planText(&Plan{Inventory: inv, Nodes: []*NodePlan{np}})
	var kinds []string
	for _, c := range np.Changes {
		kinds = append(kinds, string(c.Kind)+" "+c.Name)
	}
	if strings.Join(kinds, ", ") != "file /etc/haup/tls/server.crt, file /etc/haup/tls/server.key, database TLS certificate" ||
		!strings.Contains(text, "no restart, the VIP stays") || strings.Contains(text, "PRIVATE KEY") {
		t.Fatalf("renewal: %v\n%s", kinds, text)
	}
}

// TestTLSOffRelaxesFirst: turning TLS off replaces haup's hostssl rules
// before anything else on the node, the agent's clear-text connections
// included.
func TestTLSOffRelaxesFirst(t *testing.T) {
	inv := fixture.Example(t)
	inv.Path = filepath.Join(t.TempDir(), "cluster.yaml")
	inv.Database.TLS.Enabled, inv.Database.TLS.Require, inv.Database.TLS.MinValidDays = true, true, 30
	if _, err := PrepareTLS(inv, time.Now()); err != nil {
		t.Fatal(err)
	}
	n := inv.Nodes[0]
	on, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	f := nodefacts.Converged(t, on, "primary")
	f.Files[desired.HBAPath] = FileFact{Exists: true, Mode: 0o644, SHA256: sha256hex(on.HBA), Content: on.HBA}
	inv.Database.TLS.Enabled = false
	off, _ := desired.DesiredState(inv, n, "amd64", fixture.FakeCheck)
	if _, isOff := tlsTransition(inv, []*Facts{f}); !isOff {
		t.Fatal("a container serving TLS, TLS off: no transition")
	}
	np := Build(inv, off, f, Options{AllowPrimaryRestart: true, tlsOff: true})
	if len(np.Changes) < 3 || np.Changes[0].Name != desired.HBAPath || np.Changes[0].stage != StageHost ||
		!strings.Contains(np.Changes[0].Summary, "database.tls is turned off") ||
		np.Changes[1].Name != desired.ServicePath || !strings.Contains(np.Changes[1].Diff, "+sslmode=prefer") {
		t.Fatalf("turning TLS off:\n%s", planText(&Plan{Inventory: inv, Nodes: []*NodePlan{np}}))
	}
	for _, c := range np.Changes[1:] {
		if c.Name == desired.HBAPath {
			t.Errorf("pg_hba.conf planned twice: %s", c)
		}
	}
}
