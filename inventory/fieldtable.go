package inventory

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// fieldDoc documents one inventory field. The table is read by the validator
// (integer bounds) and by the generated reference, docs/reference/
// inventory.md; its paths are checked against the Go types, so a field
// cannot be added without its entry.
type fieldDoc struct {
	// Path is the field's YAML path, with [] for any list index.
	Path string
	// Default is what an absent field takes, as the reference shows it;
	// "required" when it must be given, "" when absent means none.
	Default string
	// Min and Max bound an integer field, checked by the validator when
	// Max > 0; Unit follows the numbers in messages (" seconds").
	Min, Max int
	Unit     string
	// Allowed describes the valid values beyond Min..Max.
	Allowed string
	// Doc says what the field means.
	Doc string
}

// fieldTable is every field of the inventory, in file order.
var fieldTable = []fieldDoc{
	{Path: "keepalived.virtual_ipaddress", Default: "required", Allowed: "IPv4 address with prefix length /8../30, inside the nodes' subnet; not a node, network or broadcast address", Doc: "the VIP"},
	{Path: "keepalived.virtual_router_id", Default: "required", Min: 1, Max: 255, Doc: "VRRP router id, unique on the network segment"},
	{Path: "keepalived.vrrp_version", Default: itoa(DefaultVRRPVersion) + ", or 2 when auth_pass is given", Allowed: "2 or 3", Doc: "VRRP version 3 allows sub-second adverts and has no authentication; version 2 keeps PASS authentication with whole-second adverts (the VIP follows a promotion about 3 s later)"},
	{Path: "keepalived.advert_int", Default: DefaultAdvertInt.String() + " (version 3), " + DefaultAdvertIntV2.String() + " (version 2)", Allowed: "seconds: 0.01..40.95 with version 3, whole seconds 1..255 with version 2", Doc: "VRRP advert interval"},
	{Path: "keepalived.auth_pass", Allowed: "at most 8 bytes of printable ASCII without space, quote, brace, #, !, $ or \\", Doc: "VRRP PASS authentication secret, version 2 only (refused with version 3, which ignores it)"},
	{Path: "keepalived.interface", Allowed: "an interface name of at most 15 bytes, not lo", Doc: "the nodes' default interface for VRRP and the VIP"},
	{Path: "keepalived.check.interval", Default: itoa(DefaultCheckInterval), Min: 1, Max: 3600, Unit: " seconds", Doc: "how often keepalived runs haup's health check (vrrp_script)"},
	{Path: "keepalived.check.timeout", Default: itoa(DefaultCheckTimeout), Min: 1, Max: 3600, Unit: " seconds", Allowed: "at most the interval", Doc: "how long a check may take (it ends itself at 80% of it)"},
	{Path: "keepalived.check.fall", Default: itoa(DefaultCheckFall), Min: 1, Max: 1000, Doc: "failed checks before a node gives up the VIP"},
	{Path: "keepalived.check.rise", Default: itoa(DefaultCheckRise), Min: 1, Max: 1000, Doc: "passed checks before a node may take the VIP"},
	{Path: "database.image", Default: "required", Allowed: "name:tag, name@sha256:... or name:tag@sha256:...", Doc: "the bitnami postgresql-repmgr image, e.g. wjy2020/timescaledb-repmgr:pg14.15-ts2.17.2"},
	{Path: "database.container_name", Default: DefaultContainerName, Allowed: "a Docker container name", Doc: "the database container on every host"},
	{Path: "database.data_dir", Default: DefaultDataDir, Allowed: "an absolute directory other than /, without spaces or colons", Doc: "the data directory on the host, mounted at /bitnami/postgresql (the image keeps the database in data/ there, owned by its postgres user, and PostgreSQL's log in logs/)"},
	{Path: "database.port", Default: itoa(DefaultDBPort), Min: 1024, Max: 65535, Allowed: "not a node's SSH port (PostgreSQL runs as a non-root user on the host's network)", Doc: "PostgreSQL's port on every host"},
	{Path: "database.primary", Default: "the first node", Allowed: "a node's name", Doc: "the node that initialises the cluster (REPMGR_PRIMARY_HOST)"},
	{Path: "database.postgres_password", Default: "required", Allowed: "one line of at most 100 characters (the image's limit)", Doc: "the postgres superuser's password, handed to the container as a file"},
	{Path: "database.repmgr_password", Default: "required", Allowed: "one line without ':', '\\' or $do$ (the image's .pgpass and user creation)", Doc: "the repmgr user's password, handed to the container as a file"},
	{Path: "database.repmgr.reconnect_attempts", Default: itoa(DefaultReconnectAttempts), Min: 0, Max: 1000, Doc: "repmgrd's retries of an unanswered primary before promoting (0: promote after the first unanswered check; REPMGR_RECONNECT_ATTEMPTS)"},
	{Path: "database.repmgr.reconnect_interval", Default: itoa(DefaultReconnectInterval), Min: 1, Max: 3600, Unit: " seconds", Doc: "time between those retries (REPMGR_RECONNECT_INTERVAL)"},
	{Path: "database.repmgr.monitor_interval", Default: itoa(DefaultMonitorInterval), Min: 1, Max: 3600, Unit: " seconds", Doc: "how often repmgrd on a standby checks its primary (REPMGR_MONITOR_INTERVAL_SECS)"},
	{Path: "database.repmgr.connect_timeout", Default: itoa(DefaultConnectTimeout), Min: 2, Max: 3600, Unit: " seconds", Doc: "how long repmgrd waits for a connection (REPMGR_CONNECT_TIMEOUT; libpq's minimum is 2)"},
	{Path: "database.synchronous", Default: "false", Doc: "zero-loss mode: a commit waits until a standby has it; turned on or off by an apply, without a restart"},
	{Path: "database.max_lag_on_failover.bytes", Default: itoa(DefaultMaxLagBytes), Min: 0, Max: 1 << 40, Unit: " bytes", Doc: "asynchronous mode: a standby more than this far behind when it last streamed is not promoted automatically (refused with database.synchronous: true, where only a standby in sync is)"},
	{Path: "database.max_lag_on_failover.seconds", Default: itoa(DefaultMaxLagSeconds), Min: 0, Max: 86400, Unit: " seconds", Doc: "asynchronous mode: a standby the primary may have written without for longer than this (from its last streaming check to the primary's last answer) is not promoted automatically"},
	{Path: "database.environment", Allowed: "see \"database.environment\" below", Doc: "extra, non-secret environment for the database container"},
	{Path: "database.allowed_clients", Default: "the image's own rules (any address may try a password)", Allowed: "IPv4 networks as CIDRs with their host bits clear (10.1.0.0/16, 192.0.2.7/32), each once; [] for the nodes alone", Doc: "who may connect: the nodes (their addresses, the witness's, the VIP) and these networks; PostgreSQL refuses every other address, IPv6 ones included. Applied by a reload, without a restart"},
	{Path: "database.tls", Doc: "TLS for client and replication traffic (see docs/operations/tls.md): with ca_file, cert_file and key_file the operator's certificate, otherwise a CA haup creates beside the inventory (INVENTORY-tls/, keys 0600) and a server certificate it issues and renews from it; absent: off, all traffic in clear text. Turning it on or off recreates the containers one by one (a rolling change with a switchover); a new certificate costs a reload"},
	{Path: "database.tls.ca_file", Default: "haup's own CA", Allowed: "a PEM file of the CA certificate(s) that issued cert_file; relative to the inventory's directory; only with cert_file and key_file", Doc: "what clients, replication and haup's agent verify the database's certificate against (sslrootcert)"},
	{Path: "database.tls.cert_file", Default: "issued by haup", Allowed: "a PEM certificate for servers, valid now and for min_valid_days more, chaining to ca_file (intermediates after it in the file), naming the VIP, every node's and the witness's database_address and 127.0.0.1 (the image's scripts connect there with verify-full)", Doc: "the database's certificate, the same on every node"},
	{Path: "database.tls.key_file", Default: "issued by haup", Allowed: "the unencrypted PEM private key of cert_file, mode 0600", Doc: "installed root-only on the nodes; the container gets a copy owned by its database user"},
	{Path: "database.tls.require", Default: "true", Allowed: "true or false", Doc: "true: PostgreSQL refuses connections without TLS from any address but the node itself (hostssl rules); false: TLS offered, clear text still accepted"},
	{Path: "database.tls.min_valid_days", Default: "30", Allowed: "an integer from 1 to 3650", Doc: "a given certificate that expires sooner is refused; haup renews its issued certificate this long before it expires; status says degraded below it"},
	{Path: "ssh.user", Default: DefaultSSHUser, Allowed: "a user name", Doc: "the SSH user; another than root needs passwordless sudo"},
	{Path: "ssh.port", Default: itoa(DefaultSSHPort), Min: 1, Max: 65535, Doc: "the SSH port"},
	{Path: "ssh.identity_files", Doc: "private keys (encrypted ones through the agent)"},
	{Path: "ssh.agent", Default: "false", Doc: "also use the keys of SSH_AUTH_SOCK"},
	{Path: "ssh.known_hosts", Default: DefaultKnownHosts, Doc: "host keys, checked strictly"},
	{Path: "ssh.proxy_jump", Allowed: "[user@]host[:port] each", Doc: "bastions crossed in order, each host key checked strictly; a node's ssh.proxy_jump replaces it"},
	{Path: "ssh.use_ssh_config", Default: "false", Doc: "read HostName, Port, User, IdentityFile and ProxyJump for each host from ssh_config, as ssh would; they win over the inventory"},
	{Path: "ssh.ssh_config", Default: "~/.ssh/config", Doc: "the ssh configuration read with use_ssh_config"},
	{Path: "nodes", Default: "required", Allowed: "at least 2", Doc: "the database servers"},
	{Path: "nodes[].name", Default: "required", Allowed: "lowercase, at most 63 bytes, ending in -<number> without leading zeros; unique, and so is its repmgr node id (number + 1000, a 32-bit integer)", Doc: "the repmgr node name"},
	{Path: "nodes[].address", Default: "required", Allowed: "IPv4, in the VIP's subnet; no other node's, not the VIP, a network, broadcast, loopback, multicast or link-local address", Doc: "SSH target, VRRP unicast source and database address"},
	{Path: "nodes[].unicast_src_ip", Default: "address", Allowed: "as address", Doc: "when VRRP uses another address"},
	{Path: "nodes[].database_address", Default: "address", Allowed: "IPv4 or hostname (a trailing dot allowed), not loopback (localhost, 127.x, inet_aton forms)", Doc: "where other nodes and repmgr reach this node's database"},
	{Path: "nodes[].interface", Default: "keepalived.interface", Allowed: "as keepalived.interface", Doc: "this node's interface for VRRP and the VIP"},
	{Path: "nodes[].priority", Default: "100, 90, 80... in list order", Min: 1, Max: 253, Doc: "VRRP priority; only breaks ties, the check decides (254 is what a newly promoted primary's precedence raises it to)"},
	{Path: "nodes[].ssh.address", Default: "address", Allowed: "an IP address or hostname (loopback allowed: a forwarded port)", Doc: "where haup connects over SSH"},
	{Path: "nodes[].ssh.port", Default: "ssh.port", Min: 1, Max: 65535, Doc: "this node's SSH port"},
	{Path: "nodes[].ssh.user", Default: "ssh.user", Allowed: "a user name", Doc: "this node's SSH user"},
	{Path: "nodes[].ssh.proxy_jump", Default: "ssh.proxy_jump", Allowed: "as ssh.proxy_jump", Doc: "this node's bastions"},
	{Path: "witness", Doc: "an optional third host that gives the pair a majority: a small PostgreSQL in repmgr's witness role, no VIP"},
	{Path: "witness.name", Default: "required with witness", Allowed: "as a node's name, with a repmgr node id of its own", Doc: "its repmgr node name"},
	{Path: "witness.address", Default: "required with witness", Allowed: "IPv4 no node uses; it may be in another subnet", Doc: "its address"},
	{Path: "witness.database_address", Default: "address", Allowed: "as a node's", Doc: "where the nodes reach its database"},
	{Path: "witness.ssh.address", Default: "address", Allowed: "as a node's", Doc: "where haup connects over SSH"},
	{Path: "witness.ssh.port", Default: "ssh.port", Min: 1, Max: 65535, Doc: "its SSH port"},
	{Path: "witness.ssh.user", Default: "ssh.user", Allowed: "a user name", Doc: "its SSH user"},
	{Path: "witness.ssh.proxy_jump", Default: "ssh.proxy_jump", Allowed: "as ssh.proxy_jump", Doc: "its bastions"},
	{Path: "metrics", Doc: "haup's metrics for Prometheus: every node's agent writes them for node_exporter's textfile collector (see docs/operations/metrics.md); absent: off"},
	{Path: "metrics.textfile_dir", Default: "required with metrics", Allowed: "an absolute, clean directory other than / (no '.' or '..' parts, no doubled or trailing '/'), without spaces or control characters", Doc: "the directory node_exporter's textfile collector reads (Debian's prometheus-node-exporter: /var/lib/prometheus/node-exporter); the agent writes haup.prom there, and apply creates the directory when it is missing"},
}

func itoa(i int) string { return strconv.Itoa(i) }

var (
	fieldByPath = func() map[string]*fieldDoc {
		m := make(map[string]*fieldDoc, len(fieldTable))
		for i := range fieldTable {
			m[fieldTable[i].Path] = &fieldTable[i]
		}
		return m
	}()
	listIndexRe = regexp.MustCompile(`\[[0-9]+\]`)
)

// fieldOf is the table's entry for a concrete path like nodes[1].priority.
func fieldOf(path string) *fieldDoc {
	f := fieldByPath[listIndexRe.ReplaceAllString(path, "[]")]
	if f == nil {
		panic("inventory: no field " + path)
	}
	return f
}

// inRange checks an integer field against its bounds in fieldTable.
func (v *validator) inRange(path string, got int) bool {
	f := fieldOf(path)
	if got < f.Min || got > f.Max {
		v.add(path, "must be %d..%d%s, got %d", f.Min, f.Max, f.Unit, got)
		return false
	}
	return true
}

// fieldTypes lists every leaf field of the inventory types by path, with
// its type as the reference names it: what fieldTable must document.
func fieldTypes() (paths []string, types map[string]string) {
	types = map[string]string{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			p := joinPath(prefix, tag)
			ft := t.Field(i).Type
			switch {
			case ft == reflect.TypeOf(Secret{}):
				types[p] = "secret: {env: NAME} or {file: PATH}"
			case ft == reflect.TypeOf(Hundredths(0)):
				types[p] = "seconds, at most two decimals"
			case ft.Kind() == reflect.Struct:
				if p == "witness" || p == "metrics" || p == "database.tls" {
					types[p] = "mapping"
					paths = append(paths, p)
				}
				walk(ft, p)
				continue
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				types[p] = "list of mappings"
				paths = append(paths, p)
				walk(ft.Elem(), p+"[]")
				continue
			case ft.Kind() == reflect.Slice:
				types[p] = "list of strings"
			case ft.Kind() == reflect.Map:
				types[p] = "mapping of strings"
			case ft.Kind() == reflect.Int:
				types[p] = "integer"
			case ft.Kind() == reflect.Bool:
				types[p] = "boolean"
			default:
				types[p] = "string"
			}
			paths = append(paths, p)
		}
	}
	walk(reflect.TypeOf(Inventory{}), "")
	return paths, types
}
