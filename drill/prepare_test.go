package drill

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/cluster"
	"github.com/haup-project/haup/status"
)

// TestPrepareRefusesAMaintenance: a drill expects a failover; during a
// maintenance pause it refuses and names the pause and the way out.
func TestPrepareRefusesAMaintenance(t *testing.T) {
	until := time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)
	env := Env{Status: func(context.Context) (*status.ClusterStatus, error) {
		return &status.ClusterStatus{Verdict: status.VerdictDegraded, Primary: "pg-0",
			Maintenance: &cluster.Maintenance{Paused: []string{"pg-0", "pg-1"}, Until: until}}, nil
	}}
	f, err := FaultNamed("kill")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(context.Background(), env, Options{Fault: f})
	if err == nil || !strings.Contains(err.Error(), "refusing: automatic failover is paused for maintenance until 2026-11-25 07:00:00Z on pg-0, pg-1") || !strings.Contains(err.Error(), "`haup resume` first") {
		t.Errorf("err = %v", err)
	}
}
