package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestMeasurementsPage fails when docs/measurements.md is not what
// docs/bench-results.json generates: the figures and the page drifted apart.
func TestMeasurementsPage(t *testing.T) {
	const in, page = "../../docs/bench-results.json", "../../docs/measurements.md"
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	r, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := render(r, "docs/bench-results.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what %s generates; run: go run ./internal/benchdoc -o docs/measurements.md docs/bench-results.json", page, in)
	}
	if len(r.Figures) == 0 {
		t.Error("no figures")
	}
}

func TestRender(t *testing.T) {
	r, err := parse([]byte(`{"commit":"abc1234","machine":"m","drill_kill_async_write_median_s":1.234,"check_mean_ms":22.81,"new_thing_s":3,"lab_image_mib":436.4,"lab_keepalived_version":"2.2.4"}`))
	if err != nil {
		t.Fatal(err)
	}
	page, err := render(r, "x.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Measured on commit `abc1234`, on m.",
		"| database container killed (`kill`) | 1.23 s | – |",
		"| haup-check: mean | 22.8 ms | `check_mean_ms` |",
		"| lab image size | 436 MiB | `lab_image_mib` |",
		"| 2.2.4 | `lab_keepalived_version` |",
		"## Other figures",
		"| `new_thing_s` | 3 s |",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(string(page), "Zero-loss (`sync`)") {
		t.Error("a mode without figures has a table")
	}
}

func TestNeedsStamp(t *testing.T) {
	r, err := parse([]byte(`{"check_mean_ms":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := render(r, "x.json"); err == nil {
		t.Error("a page without commit and machine was rendered")
	}
	if _, err := parse([]byte(`{"check_mean_ms":"fast"}`)); err == nil {
		t.Error("a figure that is not a number was accepted")
	}
	if _, err := parse([]byte(`{"lab_keepalived_version":2.2}`)); err == nil {
		t.Error("a text figure that is a number was accepted")
	}
	var out bytes.Buffer
	dir := t.TempDir()
	os.WriteFile(dir+"/r.json", []byte(`{"check_mean_ms":1}`), 0o644)
	if err := run([]string{"-commit", "c", "-machine", "m", "-json", dir + "/s.json", dir + "/r.json"}, &out); err != nil || !strings.Contains(out.String(), "commit `c`, on m") {
		t.Errorf("run with -commit and -machine: %v\n%s", err, out.String())
	}
	// The stamped file renders the same page on its own.
	b, err := os.ReadFile(dir + "/s.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := render(s, dir+"/s.json")
	if err != nil || string(again) != out.String() {
		t.Errorf("the stamped file renders another page (%v):\n%s\n---\n%s", err, again, out.String())
	}
}
