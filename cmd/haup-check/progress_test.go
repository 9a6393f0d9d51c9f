package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/haup-project/haup/nodeapi"
)

// TestProgress: `haup-check progress` answers JSON with what it could not
// read in the answer's error (exit 0), and refuses a request it does not
// understand (exit 2).
func TestProgress(t *testing.T) {
	_, config := node(t)
	for _, args := range [][]string{{"progress"}, {"progress", "replay"}, {"progress", "clone", "x"}, {"progress", "other"}} {
		var stdout, stderr strings.Builder
		if code := run(args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage: haup-check progress") {
			t.Errorf("%q: exit %d, %q", args, code, stderr.String())
		}
	}
	var stdout, stderr strings.Builder
	if code := run([]string{"progress", "-config", config, "clone"}, &stdout, &stderr); code != 0 {
		t.Fatalf("clone: exit %d, %s", code, stderr.String())
	}
	var cp nodeapi.CloneProgress
	if err := json.Unmarshal([]byte(stdout.String()), &cp); err != nil || !strings.Contains(cp.Error, "no peer answers as a primary") {
		t.Errorf("clone without peers: %v, %+v", err, cp)
	}
	stdout.Reset()
	if code := run([]string{"progress", "-config", config, "replay", "0/3000060"}, &stdout, &stderr); code != 0 {
		t.Fatalf("replay: exit %d, %s", code, stderr.String())
	}
	var rp nodeapi.ReplayProgress
	if err := json.Unmarshal([]byte(stdout.String()), &rp); err != nil || rp.Error == "" {
		t.Errorf("replay without a database: %v, %+v", err, rp)
	}
}
