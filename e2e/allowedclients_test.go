package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// allowedClients: database.allowed_clients without the test's own address
// (the lab host, 10.77.0.254) makes PostgreSQL refuse it through the VIP,
// applied by a reload (no container restarted, no keepalived restarted, the
// VIP where it was); the standby's replication, made to reconnect under the
// new rules, streams again and the check passes. Allowing the host lets it
// in; removing the key brings the image's own rules back. A CIDR that does
// not parse is refused with its line, changing nothing.
func allowedClients(ctx context.Context, t *testing.T) {
	path := filepath.Join(repoRoot, ".lab", "allowed-clients.yaml")
	write := func(line string) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, labInventory))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.Contains(s, "\n  primary: ") {
			t.Fatal("the lab inventory has no database.primary line to put allowed_clients beside")
		}
		s = strings.Replace(s, "\n  primary: ", "\n  allowed_clients: "+line+"\n  primary: ", 1)
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Cleanup(func() {
		os.Remove(path)
		if t.Failed() {
			haup(t, "apply", labInventory) // the image's rules back for the steps after
		}
	})

	// Bad input first: nothing may change.
	before := nodeMarks(t)
	r := haup(t, "apply", write("[10.77.0.0/33]"))
	if r.code != 1 || !regexp.MustCompile(`allowed-clients\.yaml:\d+: database\.allowed_clients\[0\]: "10\.77\.0\.0/33" is not a CIDR`).MatchString(r.stderr) {
		t.Fatalf("a CIDR that does not parse: exit %d, want 1 and its line:\n%s", r.code, r.stderr)
	}
	r = haup(t, "apply", write("[10.77.0.254/24]"))
	if r.code != 1 || !strings.Contains(r.stderr, "has host bits set: write 10.77.0.0/24 for the network, or 10.77.0.254/32") {
		t.Fatalf("host bits set: exit %d, want 1 and the hint:\n%s", r.code, r.stderr)
	}

	primary, standby := primaryAndStandby(t)
	start := time.Now()
	// TEST-NET-1: the lab host is not in it.
	r = mustHaup(t, 0, "apply", write("[192.0.2.0/24]"))
	lines := planLines(r.stdout)
	if len(lines) != labNodes {
		t.Errorf("allowed_clients applied with %d changes, want one per node: %v", len(lines), lines)
	}
	for _, l := range lines {
		if !strings.Contains(l, "pg_hba.conf") || !strings.Contains(l, "PostgreSQL reloaded (no restart") {
			t.Errorf("not the reload of pg_hba.conf: %s", l)
		}
	}
	if after := nodeMarks(t); !equalMaps(before, after) {
		t.Errorf("allowed_clients restarted something:\nbefore %v\nafter  %v", before, after)
	}
	if h := vipHolders(); len(h) != 1 || h[0] != primary {
		t.Errorf("the VIP moved: holders %v, was %s", h, primary)
	}
	_, err := connect(ctx, t, vip, 3*time.Second)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28000" || !strings.Contains(pe.Message, "pg_hba.conf") {
		t.Fatalf("a client outside allowed_clients through the VIP: %v, want SQLSTATE 28000 from pg_hba.conf", err)
	}
	t.Logf("refused: %s (%s)", pe.Message, pe.Code)

	// Replication under the new rules: the walsender ended, the standby's
	// WAL receiver connects again from its own address.
	mustOnNode(t, primary, pgIn+`psql -tAc "SELECT pg_terminate_backend(pid) FROM pg_stat_replication"`)
	deadline := time.Now().Add(30 * time.Second)
	for mustOnNode(t, primary, pgIn+`psql -tAc "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"`) != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("%s does not stream again 30 s after its replication connection was ended under allowed_clients", standby)
		}
		time.Sleep(500 * time.Millisecond)
	}
	waitHealthy(t, 30*time.Second)
	if code := mustHaup(t, 0, "diff", path).code; code != 0 {
		t.Errorf("diff after the apply: exit %d", code)
	}

	// The host allowed: in.
	mustHaup(t, 0, "apply", write("[192.0.2.0/24, 10.77.0.254/32]"))
	conn, err := connect(ctx, t, vip, 3*time.Second)
	if err != nil {
		t.Fatalf("the host allowed, yet: %v", err)
	}
	conn.Close(ctx)

	// The key removed: the image's own rules, still without a restart.
	r = mustHaup(t, 0, "apply", labInventory)
	for _, l := range planLines(r.stdout) {
		if !strings.Contains(l, "pg_hba.conf") {
			t.Errorf("removing allowed_clients changed more than pg_hba.conf: %s", l)
		}
	}
	if after := nodeMarks(t); !equalMaps(before, after) {
		t.Errorf("removing allowed_clients restarted something:\nbefore %v\nafter  %v", before, after)
	}
	conn, err = connect(ctx, t, vip, 3*time.Second)
	if err != nil {
		t.Fatalf("allowed_clients removed, yet: %v", err)
	}
	conn.Close(ctx)
	waitHealthy(t, 30*time.Second)
	t.Logf("allowed_clients on, widened, off: %.1f s", time.Since(start).Seconds())
}
