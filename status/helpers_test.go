package status

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/internal/testenv"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got)
}

// runningFacts is what a node haup installed answers, as far as status
// reads it: keepalived running, the database's container running, its
// database in role on timeline 1; a standby streams from pg-0 and its
// promotion gate allows it.
func runningFacts(role string) *probe.Facts {
	f := &probe.Facts{Version: probe.Version, UID: 0, OSID: "ubuntu", OSVersion: "22.04", Arch: "amd64", HasApt: true, HasSystemd: true,
		Docker: "24.0.7", Iface: probe.Iface{Found: true},
		Keepalived: probe.Keepalived{Package: "1:2.2.4-0.2build1", Active: "active", Enabled: true, PID: 4242},
		ImageID:    "sha256:1111",
		Container:  &probe.Container{ImageID: "sha256:1111", Status: "running", StartedAt: "2026-11-23T10:00:00Z"},
		Database:   &nodeapi.StatusReport{Report: nodeapi.Report{Role: role, Timeline: 1}}}
	if role == nodeapi.RoleStandby {
		f.Database.Replication = []nodeapi.Replication{{Peer: "pg-0", State: "streaming"}}
		f.Gate = &agent.Gate{Version: agent.GateVersion, Node: "pg-1", At: time.Now(), Eligible: true, Code: agent.GateEligible,
			Reason: "promotion allowed: within max_lag_on_failover: 0 bytes behind, 0 s of writes at most"}
	}
	return f
}
