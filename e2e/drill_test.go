package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// drillStep: haup drill asks first and does nothing unconfirmed, refuses a
// degraded cluster, and on a healthy one fails the primary for real, reports
// the figures with the guarantees held, and leaves no table behind.
func drillStep(ctx context.Context, t *testing.T) {
	waitHealthy(t, 3*time.Minute)
	before := vipHolders()
	r := haup(t, "drill", "--fault", "kill", labInventory)
	if r.code != 1 || !strings.Contains(r.stderr, "not confirmed: nothing was done") {
		t.Fatalf("unconfirmed drill: exit %d\n%s", r.code, r.stderr)
	}
	if got := vipHolders(); !equalStrings(got, before) {
		t.Fatalf("unconfirmed drill moved the VIP: %v -> %v", before, got)
	}

	primary, standby := primaryAndStandby(t)
	mustOnNode(t, standby, "systemctl stop keepalived")
	waitStatus(t, "degraded", 2, time.Minute)
	r = haup(t, "drill", "--fault", "kill", "--yes", labInventory)
	mustOnNode(t, standby, "systemctl start keepalived")
	if r.code != 1 || !strings.Contains(r.stderr, "refusing: the cluster is degraded") {
		t.Fatalf("drill on a degraded cluster: exit %d\n%s", r.code, r.stderr)
	}
	waitHealthy(t, time.Minute)

	d := runDrill(t, "kill")
	t.Logf("kill drill: VIP %.2f s, write %.2f s, promoted %.2f s (VIP %.2f s later), %d writes acknowledged, %d lost",
		d.VIPS, d.WriteS, d.PromotedS, d.PromotedToVIPS, d.Acked, d.Lost)
	switch {
	case !d.Held:
		t.Errorf("guarantees broken: %v", d.Broken)
	case d.DualVIPS != 0 || d.DualPrimaryS != 0:
		t.Errorf("two VIP holders %.1f s, two primaries %.1f s", d.DualVIPS, d.DualPrimaryS)
	case d.WriteS <= 0 || d.WriteS > 30 || d.VIPS <= 0 || d.PromotedS <= 0:
		t.Errorf("implausible figures: %+v", d)
	case d.Acked < 20:
		t.Errorf("only %d writes acknowledged", d.Acked)
	case d.Verdict != "healthy":
		t.Errorf("verdict after the drill: %s", d.Verdict)
	}
	if h := vipHolders(); len(h) != 1 || h[0] != standby {
		t.Errorf("after killing %s the VIP is on %v, want %s", primary, h, standby)
	}
	left, err := tsQuery(ctx, t, vip, "SELECT count(*)::text FROM pg_tables WHERE tablename LIKE 'haup_drill_%'")
	if err != nil || left != "0" {
		t.Errorf("drill tables left: %q (%v)", left, err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// zeroLoss: database.synchronous on, applied without a restart; a kill drill
// of the primary loses no acknowledged write; losing the standby's database
// stalls the primary's writes only until its check suspends zero-loss mode;
// off again, the primary's commits stop waiting.
func zeroLoss(t *testing.T) {
	setZeroLoss(t, true)
	primary, standby := primaryAndStandby(t)
	if got := mustOnNode(t, primary, pgIn+`psql -tAc "SHOW synchronous_standby_names"`); got != "ANY 1 (*)" {
		t.Fatalf("synchronous_standby_names on %s: %q", primary, got)
	}
	d := runDrill(t, "kill")
	t.Logf("zero-loss kill drill: write %.2f s, %d acknowledged, %d lost, commit %.1f ms", d.WriteS, d.Acked, d.Lost, d.CommitMS)
	if !d.Held || d.Lost != 0 || d.DualPrimaryS != 0 {
		t.Fatalf("zero-loss kill drill: lost %d, two primaries %.1f s, broken %v", d.Lost, d.DualPrimaryS, d.Broken)
	}
	waitHealthy(t, 3*time.Minute)
	standby = otherNode(t)
	d = runDrill(t, "kill", "--node", standby)
	t.Logf("zero-loss, standby %s killed: writes resumed after %.2f s", standby, d.WriteS)
	if !d.Held || d.WriteS < 0 || d.WriteS > 5 {
		t.Fatalf("standby killed in zero-loss mode: writes resumed after %.2f s, broken %v", d.WriteS, d.Broken)
	}
	setZeroLoss(t, false)
	primary, _ = primaryAndStandby(t)
	deadline := time.Now().Add(10 * time.Second)
	for mustOnNode(t, primary, pgIn+`psql -tAc "SHOW synchronous_standby_names"`) != "" {
		if time.Now().After(deadline) {
			t.Fatal("synchronous_standby_names still set 10 s after zero-loss mode was turned off")
		}
		time.Sleep(500 * time.Millisecond)
	}
}
