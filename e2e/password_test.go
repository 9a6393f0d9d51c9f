package e2e

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// passwordRotation: a new postgres_password on the live cluster, with a
// writer through the VIP that knows both passwords (as a client being
// migrated would). The plan is a rotation, not blocked; after the apply the
// VIP never left its holder, no acknowledged write is lost, the old password
// is refused and the new one works, the cluster is healthy and diff clean.
func passwordRotation(ctx context.Context, t *testing.T) {
	waitHealthy(t, 3*time.Minute)
	path := labPath("secrets/postgres-password")
	old := postgresPassword(t)
	neu := "rotated-" + old[:8] + "-x"
	holder := vipHolders()
	altPassword.Store(old)
	defer altPassword.Store("")
	if err := os.WriteFile(path, []byte(neu+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustHaup(t, 2, "diff", labInventory)
	if !strings.Contains(r.stdout, "password rotation") || strings.Contains(r.stdout, "blocked") || strings.Contains(r.stdout, neu) {
		t.Fatalf("plan of a password change:\n%s", r.stdout)
	}
	// Who holds the VIP, every 100 ms: it must never be nobody.
	var mu sync.Mutex
	gaps := 0
	sctx, stopSampling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for sctx.Err() == nil {
			if len(vipHolders()) != 1 {
				mu.Lock()
				gaps++
				mu.Unlock()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	stop := vipWriter(ctx, t, "rotation")
	mustHaup(t, 0, "apply", labInventory)
	// Long enough for keepalived's fall (2 failed checks) to show any
	// lock-out.
	time.Sleep(4 * time.Second)
	acked := stop()
	stopSampling()
	wg.Wait()
	if gaps > 0 {
		t.Errorf("the VIP was not on exactly one node for %d samples during the rotation", gaps)
	}
	if h := vipHolders(); !equalStrings(h, holder) {
		t.Errorf("VIP holders %v -> %v", holder, h)
	}
	if n := missingNotes(ctx, t, acked); n > 0 || len(acked) < 10 {
		t.Errorf("%d of %d acknowledged writes lost", n, len(acked))
	}
	altPassword.Store("")
	// The old password is refused now, the new one (in the file) works.
	if _, err := tsQuery(ctx, t, vip, "SELECT 1::text"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	os.WriteFile(path, []byte(old+"\n"), 0o600)
	_, err := tsQuery(ctx, t, vip, "SELECT 1::text")
	os.WriteFile(path, []byte(neu+"\n"), 0o600)
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("the old password after the rotation: %v", err)
	}
	for _, n := range []string{"pg-0", "pg-1"} {
		if out := mustOnNode(t, n, "ls /etc/haup/secrets/"); strings.Contains(out, ".next") {
			t.Errorf("%s keeps a staged password: %s", n, out)
		}
	}
	waitHealthy(t, time.Minute)
	mustHaup(t, 0, "diff", labInventory)
}

// repmgrPasswordRotation: a new repmgr_password on the live cluster, with a
// writer through the VIP: the plan is a rotation with a rolling restart;
// afterwards no acknowledged write is lost, one VIP holder at every sample,
// the standby streams, and a failover by repmgr (a kill drill) works with the
// new password: promotion, and the old primary's clone on rejoin.
func repmgrPasswordRotation(ctx context.Context, t *testing.T) {
	waitHealthy(t, 3*time.Minute)
	path := labPath("secrets/repmgr-password")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	neu := "rotated-" + strings.TrimSpace(string(b))[:8] + "-r"
	if err := os.WriteFile(path, []byte(neu+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustHaup(t, 2, "diff", labInventory)
	if !strings.Contains(r.stdout, "password repmgr") || !strings.Contains(r.stdout, "containers (rolling)") ||
		strings.Contains(r.stdout, "blocked") || strings.Contains(r.stdout, neu) {
		t.Fatalf("plan of a repmgr password change:\n%s", r.stdout)
	}
	stop := vipWriter(ctx, t, "repmgr-rotation")
	s := sampleVIP()
	r = mustHaup(t, 0, "apply", labInventory)
	time.Sleep(time.Second)
	acked := stop()
	if dual, _ := s.stop(); dual > 0 {
		t.Errorf("two VIP holders for %s", dual)
	}
	if n := missingNotes(ctx, t, acked); n > 0 || len(acked) < 10 {
		t.Errorf("%d of %d acknowledged writes lost", n, len(acked))
	}
	waitHealthy(t, 2*time.Minute)
	mustHaup(t, 0, "diff", labInventory)
	for _, n := range []string{"pg-0", "pg-1"} {
		if out := mustOnNode(t, n, "ls /etc/haup/secrets/"); strings.Contains(out, ".next") {
			t.Errorf("%s keeps a staged password: %s", n, out)
		}
	}
	// The password is in no repmgr record, no primary_conninfo and no
	// command line: it travels in the passfile the start gate writes,
	// readable by PostgreSQL's user alone.
	primary, standby := primaryAndStandby(t)
	if out := mustOnNode(t, primary, pgIn+`psql -d repmgr -tAc "SELECT node_name || ': ' || conninfo FROM repmgr.nodes"`); strings.Contains(out, "password=") || !strings.Contains(out, "passfile=") {
		t.Errorf("repmgr.nodes holds a password, or no passfile:\n%s", out)
	}
	for _, n := range []string{primary, standby} {
		if out := mustOnNode(t, n, `docker exec pg stat -c '%a %U' `+nodeapi.PassfileInContainer); out != "600 postgres" {
			t.Errorf("%s: the passfile is %q, want mode 600 owned by postgres", n, out)
		}
		if out := mustOnNode(t, n, "ps -eo args"); strings.Contains(out, neu) {
			t.Errorf("%s: the new password is in a command line", n)
		}
	}
	if out := mustOnNode(t, standby, "docker exec pg grep primary_conninfo /bitnami/postgresql/data/postgresql.auto.conf"); strings.Contains(out, "password=") {
		t.Errorf("%s: primary_conninfo holds a password: %s", standby, strings.ReplaceAll(out, neu, "***"))
	}
	// A standby restarted after the rotation streams again with the new
	// password (nothing kept the old one).
	mustOnNode(t, standby, "docker restart pg >/dev/null")
	waitHealthy(t, 2*time.Minute)
	d := runDrill(t, "kill")
	t.Logf("kill drill after the repmgr rotation and a standby restart: write %.2f s, held %v %v", d.WriteS, d.Held, d.Broken)
	if !d.Held {
		t.Errorf("failover after the repmgr password rotation: %v", d.Broken)
	}
}
