package desired

import (
	"testing"

	"github.com/haup-project/haup/internal/fixture"
)

// TestHBAOfAWitnessCluster: the rules name every address of the cluster
// once (a node's database_address apart from its address, the witness,
// the VIP), then the clients; [] leaves the nodes alone.
func TestHBAOfAWitnessCluster(t *testing.T) {
	inv := fixture.ExampleWitness(t)
	inv.Nodes[1].DatabaseAddress = "10.99.0.12"
	inv.Database.AllowedClients, inv.Database.AllowedClientsGiven = []string{}, true
	got, err := renderHBA(inv)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "hba-witness.conf", got)
}
