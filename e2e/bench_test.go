package e2e

import (
	"context"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/benchout"
)

// BenchmarkFailover runs failover drills on the lab with haup's default
// timings: the primary's database container is killed, and the clock runs
// until the VIP is on the promoted standby and until a write through the VIP
// succeeds. The old primary is brought back as a standby between drills.
// Figures go to stdout and BENCH_OUT; nothing is asserted.
func BenchmarkFailover(b *testing.B) {
	needRoot(b)
	ctx := context.Background()
	drills := 5
	if v, err := strconv.Atoi(os.Getenv("HAUP_FAILOVER_DRILLS")); err == nil && v > 0 {
		drills = v
	}
	// A running lab and a converged cluster are reused: both commands are
	// idempotent and cheap when nothing is to do.
	mustHaup(b, 0, "lab", "up", "--nodes", "2")
	b.Cleanup(func() {
		if os.Getenv("HAUP_E2E_KEEP_LAB") == "" {
			haup(b, "lab", "down")
		}
	})
	mustHaup(b, 0, "apply", labInventory)
	// A cluster just created takes a few seconds to elect its VIP holder.
	deadline := time.Now().Add(60 * time.Second)
	for len(vipHolders()) != 1 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if h := vipHolders(); len(h) != 1 {
		b.Fatalf("VIP holders before the drills: %v", h)
	}
	for b.Loop() {
		s := sampleVIP()
		var vips, writes []float64
		for i := 0; i < drills; i++ {
			d := drill(ctx, b, func(node string) { mustOnNode(b, node, "docker kill pg >/dev/null") },
				func(node string) { mustOnNode(b, node, "docker start pg >/dev/null") })
			b.Logf("drill %d: VIP %.2f s, write %.2f s", i+1, d.vip.Seconds(), d.write.Seconds())
			vips = append(vips, d.vip.Seconds())
			writes = append(writes, d.write.Seconds())
		}
		dual, _ := s.stop()
		err := benchout.Record(benchout.Path(), map[string]float64{
			"failover_drills":         float64(drills),
			"failover_vip_median_s":   median(vips),
			"failover_vip_max_s":      maxOf(vips),
			"failover_write_median_s": median(writes),
			"failover_write_max_s":    maxOf(writes),
			"dual_vip_holder_s":       dual.Seconds(),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
