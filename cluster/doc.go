// Package cluster is what the nodes' answers say about the cluster as a
// whole, the rules the plan and `haup status` share: the roles (View: who
// is primary and on which timeline, who is stale, who holds the VIP, which
// standbys stream, who is fenced, paused, down or unknown) and a
// maintenance pause in force (Maintenance). The plan computes it from the
// nodes' facts (ViewOf), status from its rows (NewView): one rule for both.
//
// Nothing here connects to a host, judges a verdict or plans a change:
// cluster imports inventory, nodeapi, probe and the standard library, and
// never tasks, status, gather or remote.
package cluster
