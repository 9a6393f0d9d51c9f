package apply

// installKeepalived installs the package noninteractively, keeping any
// configuration already on the node. Its output is kept in memory, never in a
// file left on the node, and shown only when it fails. The package lists are refreshed only when
// the first try fails, so a node with fresh lists pays for no update.
// Recommended packages are not installed: keepalived recommends ipvsadm, the
// LVS tools, which haup does not use (and whose init script failed on a lab
// node, failing the whole install).
const installKeepalived = `export DEBIAN_FRONTEND=noninteractive; inst() { apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold keepalived; }; out=$(inst 2>&1) || out=$( { apt-get update -q && inst; } 2>&1) || { printf '%s\n' "$out" | tail -20 >&2; exit 1; }
`

// InstallKeepalivedScript is the script a node runs to install keepalived:
// the lab's tests install it with the very same command.
const InstallKeepalivedScript = installKeepalived
