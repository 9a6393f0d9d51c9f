// Package status is `haup status`: each node's answers gathered into its
// row (NodeStatus: keepalived, the VIP, the database's role, timeline,
// replication and repmgrd, the health check, fencing, locks, the promotion
// gate, TLS), the witness's (WitnessStatus), and the cluster's verdict
// (ClusterStatus: healthy, degraded or critical, with every reason); the
// table and its notes, the JSON, and `haup status --watch` (Watch,
// RenderWatchFrame).
//
// The plan judges its own facts as status would (FromFacts), and waits on
// a standby's repmgrd by status's rule (RepmgrdNote), so status sits below
// the plan: it imports cluster (the roles and a maintenance in force),
// gather (the facts), desired, inventory, nodeapi, probe, remote,
// agent and internal/tlsca, and never tasks.
package status
