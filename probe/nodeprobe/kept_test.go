package nodeprobe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
)

// TestKeptCopiesCommits: a kept copy's line says how many transactions it
// committed past the fork, the first and last, and whether the count is
// whole; an unreadable record is said so.
func TestKeptCopiesCommits(t *testing.T) {
	data := filepath.Join(t.TempDir(), "pg")
	write := func(name string, rec any) {
		dir := filepath.Join(data, nodeapi.DivergedPrefix+name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(rec)
		if s, ok := rec.(string); ok {
			b = []byte(s)
		}
		if err := os.WriteFile(filepath.Join(dir, nodeapi.KeptRecordFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	base := nodeapi.KeptRecord{At: at, Timeline: 2, ForkLSN: "0/3000000", EndLSN: "0/3400000", SizeBytes: 64 << 20, Reason: "diverged"}
	whole := base
	whole.CommitsFrom, whole.CommitsComplete, whole.CommitCount = "0/3000000", true, 3
	whole.Commits = []nodeapi.KeptCommit{{XID: 740, LSN: "0/3000100", Time: "2026-12-05 05:59:01.1 UTC"}, {XID: 741}, {XID: 742, LSN: "0/3300000", Time: "2026-12-05 05:59:03.2 UTC"}}
	partial := base
	partial.CommitsFrom, partial.CommitCount = "0/3200000", 5000
	partial.Commits = []nodeapi.KeptCommit{{XID: 9000, Time: "a"}, {XID: 9999, Time: "b"}}
	write("20261205T060000Z", whole)
	write("20261205T060100Z", partial)
	write("20261205T060200Z", "{not json")
	kept := KeptCopies(data)
	if len(kept) != 3 {
		t.Fatalf("%d copies: %+v", len(kept), kept)
	}
	for i, want := range []string{
		"64 MiB, kept 2026-12-05 06:00:00Z by the start gate: diverged; timeline 2 from 0/3000000 to at least 0/3400000; 3 transactions committed past the fork, xid 740 at 2026-12-05 05:59:01.1 UTC to xid 742 at 2026-12-05 05:59:03.2 UTC (listed in kept.json)",
		"at least 5000 transactions committed past the fork (counted from 0/3200000; the WAL before was recycled), xid 9000 at a to xid 9999 at b (the latest 2 listed in kept.json)",
		"no readable record",
	} {
		if !strings.Contains(kept[i].Reason, want) {
			t.Errorf("copy %d: %q\n does not hold %q", i, kept[i].Reason, want)
		}
	}
	if kept[0].Commits != 3 || !kept[0].CommitsComplete || kept[1].Commits != 5000 || kept[1].CommitsComplete {
		t.Errorf("counts: %+v %+v", kept[0], kept[1])
	}
}
