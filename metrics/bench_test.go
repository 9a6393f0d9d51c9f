package metrics

import (
	"os"
	"testing"

	"github.com/haup-project/haup/internal/benchout"
)

// BenchmarkMetricsWrite is the agent's cost per write of the metrics file,
// once the node's facts are read: rendering, the temporary file, the
// rename (the facts' queries are the same as one `haup status` probe's).
func BenchmarkMetricsWrite(b *testing.B) {
	dir := b.TempDir()
	v := views()["primary"]
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteFile(dir, v); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMetricsScrapeCost records metrics_scrape_ms, BenchmarkMetricsWrite's
// time per write, for `make bench` (HAUP_BENCH=1).
func TestMetricsScrapeCost(t *testing.T) {
	if os.Getenv("HAUP_BENCH") == "" {
		t.Skip("a benchmark: make bench runs it")
	}
	r := testing.Benchmark(BenchmarkMetricsWrite)
	ms := float64(r.NsPerOp()) / 1e6
	t.Logf("metrics file written in %.3f ms (%d writes, %d allocs each)", ms, r.N, r.AllocsPerOp())
	if err := benchout.Record(benchout.Path(), map[string]float64{"metrics_scrape_ms": ms}); err != nil {
		t.Fatal(err)
	}
}
