package desired

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/internal/testenv"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got)
}

// fileOf is the content of the desired file at path, or nil.
func fileOf(d *Desired, path string) []byte {
	for _, f := range d.Files {
		if f.Path == path {
			return f.Content
		}
	}
	return nil
}

// TestContainerEnvIsHaupSet: every variable haup puts in the container's
// environment is one the inventory refuses in database.environment (so an
// operator cannot override it), the image's safety settings included.
func TestContainerEnvIsHaupSet(t *testing.T) {
	inv := fixture.Example(t)
	set := map[string]bool{}
	for _, k := range inventory.HaupSetEnv() {
		set[k] = true
	}
	spec := Container(inv, inv.Nodes[0])
	for k := range spec.Env {
		if !set[k] {
			t.Errorf("%s is set by haup but not in inventory.HaupSetEnv(): an inventory could override it", k)
		}
	}
	for k, v := range imageSafetyEnv {
		if spec.Env[k] != v {
			t.Errorf("%s = %q in the container, want %q", k, spec.Env[k], v)
		}
	}
}

// TestWitnessContainer: the witness container's settings: the witness
// role, the nodes as partners, its own name and address.
func TestWitnessContainer(t *testing.T) {
	spec := WitnessState(fixture.ExampleWitness(t), nil).Container
	if spec.Env["REPMGR_NODE_TYPE"] != "witness" || spec.Env["REPMGR_NODE_NAME"] != "witness-2" ||
		spec.Env["REPMGR_PARTNER_NODES"] != "192.168.89.131,192.168.89.133" || spec.Env["REPMGR_NODE_NETWORK_NAME"] != "192.168.90.20" {
		t.Errorf("witness container env: %v", spec.Env)
	}
}

// TestCheckEffectRepmgrdReset: a check configuration from before the stuck
// repmgrd reset (or with another limit) plans the change with its effect;
// the same limit plans none.
func TestCheckEffectRepmgrdReset(t *testing.T) {
	inv := fixture.Example(t)
	effect := checkEffect(inv)
	stale := RepmgrdStaleS(inv.Database.Repmgr)
	if stale != 5 {
		t.Errorf("RepmgrdStaleS at the defaults = %d, want 5 (1 + 2 + 2)", stale)
	}
	if got := effect([]byte(`{"node":"pg-1"}`)); !strings.Contains(got, "stuck repmgrd reset after 5 s") || !strings.Contains(got, "was never") {
		t.Errorf("from a configuration without it: %q", got)
	}
	if got := effect([]byte(`{"node":"pg-1","repmgrd_stale_s":3}`)); !strings.Contains(got, "was after 3 s") {
		t.Errorf("from another limit: %q", got)
	}
	if got := effect([]byte(`{"node":"pg-1","repmgrd_stale_s":5}`)); strings.Contains(got, "repmgrd") {
		t.Errorf("same limit: %q", got)
	}
}

// TestCheckEffectMetricsOff: turning metrics off says the last file stays.
func TestCheckEffectMetricsOff(t *testing.T) {
	inv := fixture.Example(t)
	inv.Metrics = inventory.Metrics{TextfileDir: "/var/lib/prometheus/node-exporter", Enabled: true}
	d, err := DesiredState(inv, inv.Nodes[0], "amd64", fixture.FakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	checkJSON := fileOf(d, nodeapi.ConfigPath)
	inv.Metrics = inventory.Metrics{}
	if got := checkEffect(inv)(checkJSON); !strings.Contains(got, "metrics off: the agent stops writing /var/lib/prometheus/node-exporter/haup.prom; the last file stays until you delete it") {
		t.Errorf("turned off: %q", got)
	}
}
