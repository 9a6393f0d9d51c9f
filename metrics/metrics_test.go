package metrics

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var at = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// views are the nodes the golden files show.
func views() map[string]View {
	failover := at.Add(-time.Hour)
	return map[string]View{
		"primary": {Node: "pg-0", HoldsVIP: true, Agent: "4f2c9e1a7b3d", At: at, Facts: &probe.Facts{
			Database: &nodeapi.StatusReport{
				Report:       nodeapi.Report{Role: "primary", Timeline: 3},
				Replication:  []nodeapi.Replication{{Peer: "10.1.0.12", State: "streaming", LagBytes: 1024, LagSeconds: 0.25}},
				PostgreSQL:   "14.15",
				TimescaleDB:  "2.17.2",
				LastFailover: &failover,
				AgentVersion: "4f2c9e1a7b3d",
			},
			LastCheck: &nodeapi.Report{Pass: true, Code: "primary", Sync: "on: pg-1 streams", At: at.Add(-time.Second), DurationMS: 12.5},
		}},
		"standby-stopped": {Node: "pg-1", Agent: "4f2c9e1a7b3d", At: at, Facts: &probe.Facts{
			Database: &nodeapi.StatusReport{
				Report:         nodeapi.Report{Role: "standby", Timeline: 3},
				Replication:    []nodeapi.Replication{{Peer: "", State: "stopped"}},
				Repmgrd:        &nodeapi.RepmgrdState{Running: false, UpstreamLastSeenS: -1},
				FailoverPaused: true,
				Pause:          &nodeapi.PauseRecord{At: at.Add(-time.Minute), Until: at.Add(time.Hour), Why: "disk swap", Kind: nodeapi.PauseMaintenance, By: "ops@laptop"},
				PostgreSQL:     "14.15",
				TimescaleDB:    "2.17.2",
			},
			LastCheck: &nodeapi.Report{Pass: false, Code: "standby", At: at.Add(-time.Second), DurationMS: 8},
			Diverged:  []string{"/var/lib/haup/postgresql.diverged-20250301T110000Z"},
		}},
		"fenced-down": {Node: "pg-0", Agent: "devel", At: at, Facts: &probe.Facts{
			Database:  &nodeapi.StatusReport{Report: nodeapi.Report{Role: "down"}, PortClosed: &nodeapi.PortFence{Port: 5432}},
			LastCheck: &nodeapi.Report{Code: "fenced", Fenced: true, At: at.Add(-time.Second), DurationMS: 30},
		}},
		"unknown": {Node: "pg-\"odd\"\\", Agent: "devel", At: at, Facts: &probe.Facts{DatabaseError: "open /etc/haup/check.json: no such file"}},
	}
}

// TestRender: each view's file, golden.
func TestRender(t *testing.T) {
	for name, v := range views() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, v); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".prom"), b.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./metrics -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./metrics -update rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestFamilies: names are haup_ snake case, unique, documented; every
// sample a family writes has its labels; a repeated replication peer stays
// a series of its own (a repeated series voids the whole file).
func TestFamilies(t *testing.T) {
	nameRe := regexp.MustCompile(`^haup_[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for _, f := range Families {
		if !nameRe.MatchString(f.Name) || seen[f.Name] {
			t.Errorf("%s: not a unique haup_ snake case name", f.Name)
		}
		seen[f.Name] = true
		if f.Help == "" {
			t.Errorf("%s: no help", f.Name)
		}
		for _, v := range views() {
			for _, s := range v.samples(f.Name) {
				if len(s.labels) != len(f.Labels) {
					t.Errorf("%s: sample with %d label values, want %d", f.Name, len(s.labels), len(f.Labels))
				}
			}
		}
	}
	v := views()["primary"]
	v.Facts.Database.Replication = append(v.Facts.Database.Replication, v.Facts.Database.Replication[0])
	var b bytes.Buffer
	Render(&b, v)
	if !strings.Contains(b.String(), `haup_replication_streaming{node="pg-0",peer="10.1.0.12#2"} 1`) {
		t.Errorf("a repeated peer is not a series of its own:\n%s", b.String())
	}
}

// TestWriteFile: written whole with mode 0644 under the collector's name,
// replaced whole, and no temporary file left beside it.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"primary", "standby-stopped"} {
		v := views()[name]
		if err := WriteFile(dir, v); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		Render(&want, v)
		got, err := os.ReadFile(filepath.Join(dir, nodeapi.MetricsFileName))
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%s: file differs from the rendering (%v)", name, err)
		}
	}
	st, err := os.Stat(filepath.Join(dir, nodeapi.MetricsFileName))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", st.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries in the directory, want only %s", len(ents), nodeapi.MetricsFileName)
	}
	if err := WriteFile(filepath.Join(dir, "missing"), views()["primary"]); err == nil || !strings.Contains(err.Error(), "metrics: ") {
		t.Errorf("into a missing directory: %v", err)
	}
}

// TestTLSDaysLeft: the certificate's whole days left, negative once
// expired; absent without database.tls.
func TestTLSDaysLeft(t *testing.T) {
	at := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		notAfter time.Time
		want     string
	}{
		{at.Add(30*24*time.Hour + time.Hour), "haup_tls_certificate_days_left{node=\"pg-0\"} 30\n"},
		{at.Add(-time.Hour), "haup_tls_certificate_days_left{node=\"pg-0\"} -1\n"},
	} {
		var b strings.Builder
		na := c.notAfter
		if err := Render(&b, View{Node: "pg-0", At: at, TLSNotAfter: &na}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("not after %s: no %q in\n%s", na, c.want, b.String())
		}
	}
	var b strings.Builder
	Render(&b, View{Node: "pg-0", At: at})
	if strings.Contains(b.String(), "haup_tls_certificate_days_left{") {
		t.Error("without TLS: a days-left sample")
	}
}
