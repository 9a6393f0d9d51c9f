package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/haup-project/haup/internal/tlsca"
)

// tlsStep: database.tls on a running cluster. Bad certificate files are
// refused with their line and change nothing. Turned on (haup's own CA), it
// is a rolling change after which a client verifying the VIP's certificate
// (verify-full) gets in, one in clear text is refused, and replication and
// repmgr run over TLS; a kill drill keeps its figures. A new certificate is
// files and a reload: no restart, the VIP stays, and a writer that opens a
// verified connection for every write through the VIP loses none. Turned
// off, clear text is accepted again.
func tlsStep(ctx context.Context, t *testing.T, metrics map[string]float64) {
	path := filepath.Join(repoRoot, ".lab", "tls.yaml")
	store := strings.TrimSuffix(path, ".yaml") + "-tls"
	write := func(section string) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, labInventory))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.Contains(s, "\n  primary: ") {
			t.Fatal("the lab inventory has no database.primary line to put tls beside")
		}
		s = strings.Replace(s, "\n  primary: ", "\n"+section+"  primary: ", 1)
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	os.RemoveAll(store)
	t.Cleanup(func() {
		if t.Failed() {
			haup(t, "apply", labInventory) // clear text again for the steps after
		}
		os.Remove(path)
		os.RemoveAll(store)
	})

	// Bad input: a certificate that does not name the VIP.
	before := nodeMarks(t)
	bad := filepath.Join(repoRoot, ".lab", "tls-bad")
	os.MkdirAll(bad, 0o700)
	defer os.RemoveAll(bad)
	now := time.Now()
	ca, caKey, _ := tlsca.IssueCA("bad", now)
	cert, key, _ := tlsca.IssueServer(ca, caKey, []string{"10.77.0.11", "10.77.0.12", "127.0.0.1"}, now)
	for name, b := range map[string][]byte{"ca.crt": ca, "server.crt": cert, "server.key": key} {
		os.WriteFile(filepath.Join(bad, name), b, 0o600)
	}
	r := haup(t, "apply", write("  tls:\n    ca_file: tls-bad/ca.crt\n    cert_file: tls-bad/server.crt\n    key_file: tls-bad/server.key\n"))
	if r.code != 1 || !regexp.MustCompile(`tls\.yaml:\d+: database\.tls\.cert_file: tls-bad/server\.crt does not name 10\.77\.0\.100`).MatchString(r.stderr) {
		t.Fatalf("a certificate without the VIP: exit %d, want 1 and its line:\n%s", r.code, r.stderr)
	}
	if after := nodeMarks(t); !equalMaps(before, after) {
		t.Fatalf("a refused inventory changed the nodes:\nbefore %v\nafter  %v", before, after)
	}

	// On: haup's CA, a rolling change.
	start := time.Now()
	r = mustHaup(t, 0, "apply", write("  tls: {}\n"))
	metrics["tls_enable_apply_s"] = time.Since(start).Seconds()
	if !strings.Contains(r.stderr, "created a CA in "+store) {
		t.Errorf("no word of haup's CA:\n%s", r.stderr)
	}
	if st, err := os.Stat(filepath.Join(store, "ca.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("haup's CA key: %v %v", st, err)
	}
	waitHealthy(t, 60*time.Second)
	if lines := planLines(mustHaup(t, 0, "diff", path).stdout); len(lines) != 0 {
		t.Errorf("diff after turning TLS on: %v", lines)
	}
	if st := haup(t, "status", path); st.code != 0 || strings.Count(st.stdout, "TLS certificate valid until") != labNodes {
		t.Errorf("status with TLS: exit %d, want 0 and each node's certificate:\n%s", st.code, st.stdout)
	}
	caPEM, err := os.ReadFile(filepath.Join(store, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	// psql, as an operator would run it (the password in the environment).
	psql := exec.Command("psql", fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=verify-full sslrootcert=%s", vip, dbPort, filepath.Join(store, "ca.crt")),
		"-tAc", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	psql.Env = append(os.Environ(), "PGPASSWORD="+postgresPassword(t), "PGCONNECT_TIMEOUT=3")
	if out, err := psql.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "t" {
		t.Errorf("psql sslmode=verify-full through the VIP: %v: %s", err, out)
	}
	serial, err := tlsWrite(ctx, t, caPEM, "tls on")
	if err != nil {
		t.Fatalf("verify-full through the VIP: %v", err)
	}
	_, err = connect(ctx, t, vip, 3*time.Second)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28000" || !strings.Contains(pe.Message, "no encryption") {
		t.Fatalf("a client in clear text through the VIP: %v, want SQLSTATE 28000 (no encryption)", err)
	}
	primary, standby := primaryAndStandby(t)
	q := `SELECT coalesce(a.application_name, '') || ' ' || s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.client_addr IS NOT NULL AND a.client_addr <> '10.77.0.254' ORDER BY 1`
	sessions := strings.Fields(strings.ReplaceAll(mustOnNode(t, primary, pgIn+`psql -tAc "`+q+`"`), "\n", " "))
	joined := strings.Join(sessions, " ")
	if !strings.Contains(joined, standby+" true") || strings.Contains(joined, " false") {
		t.Errorf("sessions on the primary %s (name, ssl): %s; want %s's replication over TLS and nothing in clear text", primary, joined, standby)
	}
	t.Logf("TLS on in %.1f s; sessions on %s: %s", metrics["tls_enable_apply_s"], primary, joined)

	// A kill drill over TLS (its writer verifies the VIP's certificate).
	d := runDrillOn(t, path, "kill", "--hold", "10s")
	t.Logf("kill drill with TLS: write %.2f s, promoted %.2f s, lost %d of %d, commit %.1f ms, held %v %v",
		d.WriteS, d.PromotedS, d.Lost, d.Acked, d.CommitMS, d.Held, d.Broken)
	if !d.Held || d.Lost != 0 || d.WriteS < 0 || d.WriteS > 10 {
		t.Errorf("kill drill with TLS: %+v", d)
	}
	metrics["tls_failover_write_s"] = never(d.WriteS)
	metrics["tls_commit_latency_ms"] = d.CommitMS
	waitHealthy(t, 90*time.Second)

	// Rotation: a new certificate from the same CA, with a verified writer.
	before = nodeMarks(t)
	primary, _ = primaryAndStandby(t)
	os.Remove(filepath.Join(store, "server.crt"))
	r = haup(t, "diff", path)
	if r.code != 2 {
		t.Fatalf("diff of a new certificate: exit %d, want 2 (changes)\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := planLines(r.stdout)
	for _, l := range lines {
		if !strings.Contains(l, "/etc/haup/tls/server.") && !strings.Contains(l, "database TLS certificate") {
			t.Errorf("rotation plans more than the certificate and a reload: %s", l)
		}
	}
	if len(lines) != 3*labNodes || strings.Contains(r.stdout, "PRIVATE KEY") {
		t.Errorf("rotation plan: %v", lines)
	}
	w := startTLSWriter(ctx, t, caPEM)
	time.Sleep(time.Second)
	mustHaup(t, 0, "apply", path)
	time.Sleep(time.Second)
	outage, acked, failed, serials := w.stop()
	metrics["cert_rotation_write_outage_s"] = outage.Seconds()
	t.Logf("rotation: %d verified writes acknowledged, %d failed, longest outage %.2f s, certificates seen %v", acked, failed, outage.Seconds(), serials)
	if failed > 0 || acked < 10 {
		t.Errorf("rotation: %d writes failed, %d acknowledged; want none failed", failed, acked)
	}
	if after := nodeMarks(t); !equalMaps(before, after) {
		t.Errorf("rotation restarted something:\nbefore %v\nafter  %v", before, after)
	}
	if h := vipHolders(); len(h) != 1 || h[0] != primary {
		t.Errorf("the VIP moved: holders %v, was %s", h, primary)
	}
	newSerial, err := tlsWrite(ctx, t, caPEM, "after rotation")
	if err != nil || newSerial == serial {
		t.Errorf("after the rotation the VIP serves certificate %s (was %s): %v", newSerial, serial, err)
	}
	if lines := planLines(mustHaup(t, 0, "diff", path).stdout); len(lines) != 0 {
		t.Errorf("diff after the rotation: %v", lines)
	}

	// Off: clear text again.
	start = time.Now()
	mustHaup(t, 0, "apply", labInventory)
	waitHealthy(t, 60*time.Second)
	t.Logf("TLS off in %.1f s", time.Since(start).Seconds())
	conn, err := connect(ctx, t, vip, 3*time.Second)
	if err != nil {
		t.Fatalf("TLS off, yet a client in clear text: %v", err)
	}
	conn.Close(ctx)
	if lines := planLines(mustHaup(t, 0, "diff", labInventory).stdout); len(lines) != 0 {
		t.Errorf("diff after turning TLS off: %v", lines)
	}
}

// tlsWrite inserts a row through the VIP over a new connection that
// verifies the certificate as verify-full does, and returns the serial of
// the certificate the server showed.
func tlsWrite(ctx context.Context, t testing.TB, caPEM []byte, note string) (string, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=require connect_timeout=2", vip, dbPort))
	if err != nil {
		return "", err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	var serial string
	cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: vip, MinVersion: tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				serial = cs.PeerCertificates[0].SerialNumber.Text(16)
			}
			return nil
		}}
	cfg.Fallbacks = nil
	cfg.Password = postgresPassword(t)
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(cctx, `CREATE TABLE IF NOT EXISTS haup_e2e (id bigserial PRIMARY KEY, note text, at timestamptz DEFAULT now())`); err != nil {
		return serial, err
	}
	_, err = conn.Exec(cctx, `INSERT INTO haup_e2e (note) VALUES ($1)`, note)
	return serial, err
}

// tlsWriter writes through the VIP every 100 ms, each write on a new
// verified connection, and measures the longest time from a failed write
// to the next acknowledged one.
type tlsWriter struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	acked   int
	failed  int
	outage  time.Duration
	serials map[string]bool
}

func startTLSWriter(ctx context.Context, t *testing.T, caPEM []byte) *tlsWriter {
	w := &tlsWriter{serials: map[string]bool{}}
	wctx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		var firstFail time.Time
		for i := 0; wctx.Err() == nil; i++ {
			at := time.Now()
			serial, err := tlsWrite(wctx, t, caPEM, fmt.Sprintf("rotation %d", i))
			w.mu.Lock()
			switch {
			case err == nil:
				w.acked++
				w.serials[serial] = true
				if !firstFail.IsZero() {
					w.outage = max(w.outage, time.Since(firstFail))
					firstFail = time.Time{}
				}
			case wctx.Err() == nil:
				w.failed++
				t.Logf("rotation: a verified write failed: %v", err)
				if firstFail.IsZero() {
					firstFail = at
				}
			}
			w.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return w
}

func (w *tlsWriter) stop() (outage time.Duration, acked, failed int, serials []string) {
	w.cancel()
	w.wg.Wait()
	for s := range w.serials {
		serials = append(serials, s)
	}
	sort.Strings(serials)
	return w.outage, w.acked, w.failed, serials
}
