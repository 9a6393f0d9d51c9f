// Package desired is what every node of the cluster, and the witness host,
// should have, computed from the inventory alone: the directories, the
// files with everything about them (mode, owner, how a change is validated,
// what it reloads, what a change of it does), the database container's
// spec and its `docker run` arguments, and haup's pg_hba.conf. It renders
// keepalived's configuration, the agent's (nodeapi.Config), PostgreSQL's
// and repmgr's settings and the TLS files.
//
// Nothing here connects to a host or reads a node's facts: tasks compares
// this state with what the probe found and plans the changes. desired
// imports inventory, nodeapi, templates and the standard library, and
// never tasks, probe or remote.
package desired
