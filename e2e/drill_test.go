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
