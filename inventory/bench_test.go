package inventory

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/haup-project/haup/internal/benchout"
)

// TestValidate50MB loads a generated 50 MB inventory (a huge node list) in
// a child process and records how long the refusal took and the child's
// peak memory, for `make bench` (HAUP_BENCH=1). The goal: refused with a
// clear message within 2 s and 300 MiB. It also records the same for the
// costliest inventory under the size limit (a list of empty nodes: three
// problems per 5 bytes).
func TestValidate50MB(t *testing.T) {
	if p := os.Getenv("HAUP_BENCH_LOAD"); p != "" {
		// The child: load and report the time on stdout.
		start := time.Now()
		_, err := Load(p)
		fmt.Printf("took %f\n", time.Since(start).Seconds())
		fmt.Printf("error %s\n", strings.ReplaceAll(fmt.Sprint(err), "\n", " | "))
		return
	}
	if os.Getenv("HAUP_BENCH") == "" {
		t.Skip("a benchmark: make bench runs it")
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "50mb.yaml")
	writeGenerated(t, big, 50<<20, "keepalived: {virtual_ipaddress: 10.1.0.100/24, virtual_router_id: 7}\nnodes:\n",
		func(i int) string {
			return fmt.Sprintf("  - {name: pg-%d, address: 10.%d.%d.%d, priority: 99.5}\n", i, i>>16&255, i>>8&255, i&255)
		})
	took, peak, msg := childLoad(t, big)
	t.Logf("50 MB refused in %.3f s, peak %.1f MiB: %s", took, peak, msg)
	if !strings.Contains(msg, "an inventory may be at most 1048576 bytes") {
		t.Errorf("not refused for its size: %s", msg)
	}
	if took > 2 || peak > 300 {
		t.Errorf("over the goal of 2 s and 300 MiB")
	}

	limit := filepath.Join(dir, "1mib.yaml")
	writeGenerated(t, limit, MaxFileSize-8, "nodes:\n", func(int) string { return "- {}\n" })
	tookLimit, peakLimit, msgLimit := childLoad(t, limit)
	t.Logf("1 MiB of empty nodes refused in %.3f s, peak %.1f MiB: %.200s", tookLimit, peakLimit, msgLimit)
	if !strings.Contains(msgLimit, "more problems") {
		t.Errorf("problems not capped: %.500s", msgLimit)
	}
	if err := benchout.Record(benchout.Path(), map[string]float64{
		"validate_50mb_s":        took,
		"validate_50mb_peak_mib": peak,
		"validate_1mib_s":        tookLimit,
		"validate_1mib_peak_mib": peakLimit,
	}); err != nil {
		t.Fatal(err)
	}
}

// writeGenerated writes head and then line(i) for i = 0, 1, ... while the
// file stays under size bytes.
func writeGenerated(t *testing.T, path string, size int, head string, line func(int) string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	n, _ := w.WriteString(head)
	for i := 0; ; i++ {
		l := line(i)
		if n+len(l) > size {
			break
		}
		w.WriteString(l)
		n += len(l)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// childLoad runs Load on path in a child process (this test binary) and
// returns the seconds Load took, the child's peak resident memory in MiB and
// the error, on one line.
func childLoad(t *testing.T, path string) (took, peakMiB float64, msg string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestValidate50MB$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HAUP_BENCH_LOAD="+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "took "); ok {
			took, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(l, "error "); ok {
			msg = v
		}
	}
	// Maxrss is in KiB on Linux.
	return took, float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024, msg
}
