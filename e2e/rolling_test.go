package e2e

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The lab's image in its registry, and its second tag.
const (
	labImage     = "10.77.0.254:5000/haup/postgresql-repmgr:15"
	labImageNext = labImage + "-next"
)

// rollingUpgrade: a new database.image (the lab's second tag of its image)
// on a healthy cluster with a writer through the VIP. The plan is a rolling
// change, not blocked; apply recreates the standby, switches over, recreates
// the old primary as a standby; no acknowledged write is lost, one VIP holder
// at every sample, the cluster healthy and diff clean afterwards.
func rollingUpgrade(ctx context.Context, t *testing.T, metrics map[string]float64) {
	waitHealthy(t, 3*time.Minute)
	path := filepath.Join(repoRoot, labInventory)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The lab's second tag of its image (haup lab up pushes it; a lab whose
	// registry predates that gets it here).
	for _, args := range [][]string{{"tag", "haup-lab/postgresql-repmgr:15", labImageNext}, {"push", "-q", labImageNext}} {
		if out, err := osexec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	next := strings.Replace(string(orig), "image: "+labImage+"\n", "image: "+labImageNext+"\n", 1)
	if next == string(orig) {
		t.Fatalf("the lab inventory does not name %s", labImage)
	}
	if err := os.WriteFile(path, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile(path, orig, 0o600)
	r := mustHaup(t, 2, "diff", labInventory)
	if !strings.Contains(r.stdout, "containers (rolling)") || strings.Contains(r.stdout, "blocked") {
		t.Fatalf("plan of an image change:\n%s", r.stdout)
	}
	from, to := primaryAndStandby(t)
	stop := vipWriter(ctx, t, "rolling")
	s := sampleVIP()
	start := time.Now()
	r = mustHaup(t, 0, "apply", labInventory)
	took := time.Since(start)
	time.Sleep(time.Second)
	acked := stop()
	dual, _ := s.stop()
	t.Logf("rolling image change: apply %.1f s, %d writes acknowledged\n%s", took.Seconds(), len(acked), r.stderr)
	if dual > 0 {
		t.Errorf("two VIP holders for %s", dual)
	}
	if h := vipHolders(); len(h) != 1 || h[0] != to {
		t.Errorf("after the rolling change the VIP is on %v, want %s (the switchover target)", h, to)
	}
	if role(t, from) != "standby" {
		t.Errorf("%s is not a standby after the rolling change", from)
	}
	if n := missingNotes(ctx, t, acked); n > 0 {
		t.Errorf("%d of %d acknowledged writes lost", n, len(acked))
	}
	for _, n := range []string{"pg-0", "pg-1"} {
		if img := mustOnNode(t, n, "docker inspect -f '{{.Config.Image}}' pg"); img != labImageNext {
			t.Errorf("%s runs %s, want %s", n, img, labImageNext)
		}
	}
	waitHealthy(t, 3*time.Minute)
	mustHaup(t, 0, "diff", labInventory)
	// The outage: the switchover's, from its own progress line.
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.Contains(l, "writes were refused for") {
			var secs float64
			if _, err := fmt.Sscanf(l[strings.Index(l, "writes were refused for")+len("writes were refused for"):], " %f s", &secs); err == nil {
				metrics["upgrade_write_outage_s"] = secs
			}
		}
	}
	// Back to the first tag, the same way, for the steps after.
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	mustHaup(t, 0, "apply", labInventory)
	waitHealthy(t, 3*time.Minute)
}
