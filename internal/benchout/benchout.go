// Package benchout records benchmark figures in one flat JSON object (metric
// name to number, or to text for the few figures that are not numbers, such
// as a measured version) shared by every benchmark of `make bench`.
package benchout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/haup-project/haup/internal/atomicfile"
)

// Path is the file named by BENCH_OUT, default bench-results.json in the
// current directory.
func Path() string {
	if p := os.Getenv("BENCH_OUT"); p != "" {
		return p
	}
	return "bench-results.json"
}

// Record merges metrics into the file at path, keeping metrics written by
// other benchmarks, and prints them as a table to stdout.
func Record(path string, metrics map[string]float64) error {
	return record(path, metrics, "%-34s %12.3f\n")
}

// RecordStrings merges figures that are text, not numbers (a measured
// version, say), into the file at path the same way.
func RecordStrings(path string, metrics map[string]string) error {
	return record(path, metrics, "%-34s %12s\n")
}

func record[V float64 | string](path string, metrics map[string]V, format string) error {
	// Other figures are kept as they are, numbers or text.
	all := map[string]json.RawMessage{}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &all); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	names := make([]string, 0, len(metrics))
	for k, v := range metrics {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		all[k] = b
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf(format, n, metrics[n])
	}
	out, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(out, '\n'), 0o644)
}

// Has tells whether the file at path already holds the figure name (a
// figure an earlier test of the same run measured).
func Has(path, name string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(data, &all) != nil {
		return false
	}
	_, ok := all[name]
	return ok
}
