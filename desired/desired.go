package desired

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/templates"
)

// Paths haup manages on every node.
const (
	// KeepalivedConfPath is keepalived's configuration, which haup renders
	// for each node.
	KeepalivedConfPath = "/etc/keepalived/keepalived.conf"
	// NotifyPath is the script keepalived runs on VRRP state changes; it
	// writes the state to nodeapi.VRRPStatePath.
	NotifyPath = "/usr/local/libexec/haup/vrrp-notify"
	secretsDir = "/etc/haup/secrets"
	// PostgresSecretPath and RepmgrSecretPath hold the database passwords
	// (database.postgres_password, database.repmgr_password), mounted
	// read-only into the container.
	PostgresSecretPath = secretsDir + "/postgres-password"
	RepmgrSecretPath   = nodeapi.RepmgrPasswordFile
	// secretsInContainer is where the secret files appear in the container;
	// the image reads them through the *_FILE variables.
	secretsInContainer = "/run/secrets/haup"
	// ImageUID is the user the bitnami image runs as: it must own the data
	// directory and be able to read the secret files.
	ImageUID = 1001
	// specLabel carries the container's desired spec, so a later plan can
	// tell exactly what changed.
	specLabel = "io.haup.spec"
)

// File is a file haup places on a node.
type File struct {
	Path     string
	Mode     fs.FileMode
	UID, GID int
	Content  []byte
	// Sensitive files are never shown, not even as a masked diff.
	Sensitive bool
	// Binary files are summarised by size and hash instead of a diff.
	Binary bool
	// Validate is a shell command, with %s for the staged file, that must
	// succeed before the file replaces the live one.
	Validate string
	// Reloads names what must reload when the file changes:
	// ReloadsKeepalived, ReloadsSystemd for unit files, ReloadsTLS, or ""
	// for nothing.
	Reloads string
	// Password files hold a database password, which the database keeps
	// from its creation: changing only the file locks haup-check out.
	Password bool
	// Effect, when set, says what a change from the old content does
	// beyond the file itself ("" when nothing).
	Effect func(old []byte) string
}

// Dir is a directory haup creates on a node.
type Dir struct {
	Path     string
	Mode     fs.FileMode
	UID, GID int
	// ImageOwned directories are created by haup when missing, then belong
	// to the database image, which gives them to its own user at each
	// start: their owner and mode are not compared.
	ImageOwned bool
	// Shared directories are created by haup when missing and belong to
	// another program (node_exporter's textfile directory): their owner
	// and mode are not compared either.
	Shared bool
}

// ContainerSpec is everything haup decides about the database container. Its
// JSON form is stored in a label of the container and compared on each plan.
type ContainerSpec struct {
	Name    string            `json:"name"`
	Image   string            `json:"image"`
	Network string            `json:"network"`
	Restart string            `json:"restart"`
	Env     map[string]string `json:"env"`
	Mounts  []Mount           `json:"mounts"`
	// Tmpfs are directories of the container kept in memory, empty at
	// every start.
	Tmpfs []string `json:"tmpfs,omitempty"`
	// RepmgrConf is the sha256 of haup's repmgr.conf (repmgrConf), which
	// the image reads at the container's start only: a new one recreates
	// the container.
	RepmgrConf string `json:"repmgr_conf,omitempty"`
	// Entrypoint and Command replace the image's: haup's start gate, which
	// runs the image's own entrypoint and command once it allows the start.
	Entrypoint string   `json:"entrypoint,omitempty"`
	Command    []string `json:"command,omitempty"`
}

// Mount is a bind mount of the container.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Label returns the canonical JSON of the spec (map keys sorted).
func (s ContainerSpec) Label() string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // only strings, maps and slices: cannot fail
	}
	return string(b)
}

// Desired is what one node, or the witness host, should look like.
type Desired struct {
	Node      inventory.Node
	Dirs      []Dir
	Files     []File
	Container ContainerSpec
	// HBA is haup's pg_hba.conf (HBAPath), nil when
	// database.allowed_clients is absent and TLS is not required: tasks
	// plans it apart from Files, after the containers.
	HBA []byte
}

// DirSpecs lists the directories haup manages, parents before children.
func DirSpecs(inv *inventory.Inventory) []Dir {
	dirs := append([]Dir{
		{Path: path.Dir(nodeapi.BinaryPath), Mode: 0o755},
		{Path: path.Dir(nodeapi.ConfigPath), Mode: 0o755},
		{Path: secretsDir, Mode: 0o700},
		{Path: path.Dir(KeepalivedConfPath), Mode: 0o755},
		{Path: path.Dir(keepalivedDropInPath), Mode: 0o755},
		{Path: path.Dir(nodeapi.FencePath), Mode: 0o711},
		{Path: nodeapi.GateDir, Mode: 0o755},
		{Path: repmgrConfDir, Mode: 0o755},
	}, volumeDirs(inv)...)
	if inv.Metrics.Enabled {
		dirs = append(dirs, Dir{Path: inv.Metrics.TextfileDir, Mode: 0o755, Shared: true})
	}
	return append(dirs, tlsDirs(inv)...)
}

// volumeDirs are the database volume's directories, on a node and on the
// witness alike. The image runs PostgreSQL as the user postgres it creates
// at its first start (UID 1000 in the image), which must pass through the
// volume's root to its data directory (0700, its own).
func volumeDirs(inv *inventory.Inventory) []Dir {
	return []Dir{
		{Path: inv.Database.DataDir, Mode: 0o755},
		{Path: path.Join(inv.Database.DataDir, "logs"), Mode: 0o755, ImageOwned: true},
		{Path: path.Join(inv.Database.DataDir, "conf"), Mode: 0o755},
		{Path: path.Join(inv.Database.DataDir, "conf", "conf.d"), Mode: 0o755},
	}
}

// postgresConfPath is haup's PostgreSQL settings file in the image's
// mounted configuration directory (/bitnami/postgresql/conf/conf.d), which
// the image copies into PostgreSQL's conf.d at every container start.
func postgresConfPath(inv *inventory.Inventory) string {
	return path.Join(inv.Database.DataDir, "conf", "conf.d", "haup.conf")
}

// postgresConf is haup's PostgreSQL settings: TimescaleDB preloaded, WAL kept for the standbys,
// since haup runs without replication slots (see imageSafetyEnv), so that a
// standby that reconnects after a short outage still finds its WAL, while a
// lost standby never fills the primary's disk.
func postgresConf() []byte {
	return []byte(`# Managed by haup: changes are overwritten by the next haup apply.
# The image copies this directory into PostgreSQL's conf.d when its container starts.

# TimescaleDB loaded with repmgr, as production's conf.d/pg_custom.conf does
# (this replaces the image's list, so repmgr is named too); no telemetry.
shared_preload_libraries = 'repmgr,timescaledb'
timescaledb.telemetry_level = off

# No replication slots: the primary keeps this much WAL for its standbys, and
# no more; a standby further behind is cloned again.
wal_keep_size = '1GB'
`)
}

// repmgrConfDir is haup's repmgr settings on the host, mounted read-only
// where the image merges a repmgr.conf into the one it writes at every
// start (REPMGR_MOUNTED_CONF_DIR, librepmgr.sh:587-592).
const repmgrConfDir = "/etc/haup/repmgr"

// repmgrConf is haup's part of repmgr.conf: the promotion gate. repmgrd
// runs failover_validation_command on the standby it elected, before
// promoting it; a non-zero exit cancels the promotion and repmgrd elects
// again election_rerun_interval seconds later (repmgrd-physical.c). The
// image drops its own lines for keys given here, by substring: no blank
// line and no comment, which would drop every line of its own.
func repmgrConf() []byte {
	return []byte("failover_validation_command='" + nodeapi.BinInContainer + "/haup-check gate'\nelection_rerun_interval=5\n")
}

func repmgrConfEffect([]byte) string {
	return "the image reads it when the container starts (the container is recreated for it)"
}

func postgresConfEffect([]byte) string {
	return "PostgreSQL reads it when its container next starts (the image copies its conf.d then); no restart now"
}

// Systemd files haup manages.
const (
	keepalivedDropInPath = "/etc/systemd/system/keepalived.service.d/haup.conf"
	rejoinUnitPath       = "/etc/systemd/system/" + nodeapi.RejoinUnit
)

// Services a changed file reloads (File.Reloads).
const (
	// ReloadsKeepalived: keepalived reloads its configuration.
	ReloadsKeepalived = "keepalived"
	// ReloadsSystemd: systemd reloads its unit files (daemon-reload).
	ReloadsSystemd = "systemd"
	// ReloadsTLS: PostgreSQL takes the file with a reload, in the running
	// container.
	ReloadsTLS = "tls"
)

// ManagedFiles lists every file haup places on node, each with everything
// about it, in the order apply writes them. check is the agent built for the
// node's architecture (nil when only the list is wanted, as for the probe's
// request).
func ManagedFiles(inv *inventory.Inventory, node inventory.Node, check []byte) ([]File, error) {
	conf, err := renderKeepalived(inv, node)
	if err != nil {
		return nil, err
	}
	notify, err := templates.RenderNotify(templates.Notify{StateDir: path.Dir(nodeapi.VRRPStatePath), StateFile: nodeapi.VRRPStatePath})
	if err != nil {
		return nil, err
	}
	checkCfg, err := checkConfig(inv, node)
	if err != nil {
		return nil, err
	}
	unit := templates.Unit{Agent: nodeapi.BinaryPath, Config: KeepalivedConfPath,
		VIP: inv.Keepalived.VirtualIPAddress, Interface: node.Interface}
	dropIn, err := templates.RenderKeepalivedDropIn(unit)
	if err != nil {
		return nil, err
	}
	rejoin, err := templates.RenderRejoinUnit(unit)
	if err != nil {
		return nil, err
	}
	// The TLS files first: a container recreated for TLS finds them at its
	// start.
	return append(tlsFiles(inv), []File{
		{Path: nodeapi.BinaryPath, Mode: 0o755, Binary: true, Content: check, Effect: checkProgramEffect},
		{Path: NotifyPath, Mode: 0o755, Content: notify},
		{Path: nodeapi.ConfigPath, Mode: 0o644, Content: checkCfg, Effect: checkEffect(inv)},
		{Path: PostgresSecretPath, Mode: 0o600, UID: ImageUID, GID: ImageUID, Sensitive: true,
			Content: []byte(inv.Database.PostgresPassword.Value()), Password: true},
		{Path: RepmgrSecretPath, Mode: 0o600, UID: ImageUID, GID: ImageUID, Sensitive: true,
			Content: []byte(inv.Database.RepmgrPassword.Value()), Password: true},
		{Path: postgresConfPath(inv), Mode: 0o644, Content: postgresConf(), Effect: postgresConfEffect},
		{Path: path.Join(repmgrConfDir, "repmgr.conf"), Mode: 0o644, Content: repmgrConf(), Effect: repmgrConfEffect},
		{Path: keepalivedDropInPath, Mode: 0o644, Content: dropIn, Reloads: ReloadsSystemd},
		{Path: rejoinUnitPath, Mode: 0o644, Content: rejoin, Reloads: ReloadsSystemd},
		{Path: KeepalivedConfPath, Mode: 0o600, Content: conf, Validate: "keepalived -t -f %s", Reloads: ReloadsKeepalived},
	}...), nil
}

// CheckBinaries returns the haup-check program built for a node's OS and
// architecture (GOOS/GOARCH names).
type CheckBinaries func(goos, goarch string) ([]byte, error)

// DesiredState computes the desired state of node, whose architecture the
// gathered facts told.
func DesiredState(inv *inventory.Inventory, node inventory.Node, goarch string, bins CheckBinaries) (*Desired, error) {
	check, err := bins("linux", goarch)
	if err != nil {
		return nil, err
	}
	files, err := ManagedFiles(inv, node, check)
	if err != nil {
		return nil, err
	}
	hba, err := renderHBA(inv)
	if err != nil {
		return nil, err
	}
	return &Desired{Node: node, Dirs: DirSpecs(inv), Files: files, Container: Container(inv, node), HBA: hba}, nil
}

func peers(inv *inventory.Inventory, node inventory.Node) []inventory.Node {
	var out []inventory.Node
	for _, n := range inv.Nodes {
		if n.Name != node.Name {
			out = append(out, n)
		}
	}
	return out
}

func renderKeepalived(inv *inventory.Inventory, node inventory.Node) ([]byte, error) {
	k := inv.Keepalived
	var unicast []string
	for _, p := range peers(inv, node) {
		unicast = append(unicast, p.UnicastSrcIP)
	}
	return templates.RenderKeepalived(templates.Keepalived{
		NodeName:         node.Name,
		CheckCommand:     nodeapi.BinaryPath,
		NotifyCommand:    NotifyPath,
		Interval:         k.Check.Interval,
		Timeout:          k.Check.Timeout,
		Fall:             k.Check.Fall,
		Rise:             k.Check.Rise,
		Interface:        node.Interface,
		VirtualRouterID:  k.VirtualRouterID,
		Priority:         node.Priority,
		VRRPVersion:      k.VRRPVersion,
		AdvertInt:        k.AdvertInt.String(),
		UnicastSrcIP:     node.UnicastSrcIP,
		UnicastPeers:     unicast,
		AuthPass:         k.AuthPass.Value(),
		VirtualIPAddress: k.VirtualIPAddress,
		PrecedenceFile:   nodeapi.PrecedencePath,
	})
}

// RepmgrdStaleS is how long ago a standby's repmgrd may have last reached
// its upstream before it counts as stuck: a pass (monitor_interval, then a
// ping bounded by connect_timeout) plus 2 s for the query that follows it on
// a loaded primary. `haup status` calls the cluster degraded past it, and the
// standby's check resets repmgrd's stuck connections.
func RepmgrdStaleS(r inventory.Repmgr) int { return r.MonitorInterval + r.ConnectTimeout + 2 }

// checkDeadlineMillis keeps the check's own deadline well below keepalived's
// timeout: keepalived 2.2 may start a second copy of a check still running.
func checkDeadlineMillis(timeoutSeconds int) int {
	return timeoutSeconds * 1000 * 8 / 10
}

func checkConfig(inv *inventory.Inventory, node inventory.Node) ([]byte, error) {
	cfg := nodeapi.Config{
		Node:           node.Name,
		Host:           "127.0.0.1",
		Port:           inv.Database.Port,
		User:           "postgres",
		PasswordFile:   PostgresSecretPath,
		Database:       "postgres",
		DeadlineMillis: checkDeadlineMillis(inv.Keepalived.Check.Timeout),
		StatePath:      nodeapi.StatePath,
		Container:      inv.Database.ContainerName,
		DataDir:        inv.Database.DataDir,
		FencePath:      nodeapi.FencePath,
		VIP:            VIPAddr(inv),
		Synchronous:    inv.Database.Synchronous,
		RepmgrdStaleS:  RepmgrdStaleS(inv.Database.Repmgr),
		MetricsDir:     inv.Metrics.TextfileDir,
		TLSRootCert:    tlsRootCert(inv),
	}
	if !inv.Database.Synchronous {
		b, sec := int64(inv.Database.MaxLagOnFailover.Bytes), inv.Database.MaxLagOnFailover.Seconds
		cfg.MaxLagBytes, cfg.MaxLagSeconds = &b, &sec
	}
	for _, p := range peers(inv, node) {
		cfg.Peers = append(cfg.Peers, nodeapi.Peer{Name: p.Name, Host: DBAddress(p), Port: inv.Database.Port})
	}
	if inv.HasWitness() {
		w := inv.WitnessNode()
		cfg.Witness = &nodeapi.Peer{Name: w.Name, Host: DBAddress(w), Port: inv.Database.Port}
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("check config: %w", err)
	}
	return append(b, '\n'), nil
}

// DBAddress is the address other nodes and repmgr reach a node's database
// at: nodes[].database_address, which defaults to the node's address, so
// moving VRRP to another network (unicast_src_ip) does not move replication.
func DBAddress(n inventory.Node) string {
	if n.DatabaseAddress != "" {
		return n.DatabaseAddress
	}
	return n.Address
}

func primaryNode(inv *inventory.Inventory) inventory.Node {
	for _, n := range inv.Nodes {
		if n.Name == inv.Database.Primary {
			return n
		}
	}
	return inv.Nodes[0]
}

// Container is the spec of node's database container: the image, host
// network, the volume, secrets and promotion gate mounted, repmgr's and
// the image's settings in the environment (database.environment last), and
// haup's start gate as its entrypoint.
func Container(inv *inventory.Inventory, node inventory.Node) ContainerSpec {
	db := inv.Database
	var partners []string
	for _, n := range inv.Nodes {
		partners = append(partners, DBAddress(n))
	}
	port := strconv.Itoa(db.Port)
	env := map[string]string{
		"REPMGR_PARTNER_NODES":         strings.Join(partners, ","),
		"REPMGR_PRIMARY_HOST":          DBAddress(primaryNode(inv)),
		"REPMGR_PRIMARY_PORT":          port,
		"REPMGR_NODE_NAME":             node.Name,
		"REPMGR_NODE_NETWORK_NAME":     DBAddress(node),
		"REPMGR_PORT_NUMBER":           port,
		"POSTGRESQL_PORT_NUMBER":       port,
		"REPMGR_PASSWORD_FILE":         secretsInContainer + "/repmgr-password",
		"POSTGRESQL_PASSWORD_FILE":     secretsInContainer + "/postgres-password",
		"REPMGR_RECONNECT_ATTEMPTS":    strconv.Itoa(db.Repmgr.ReconnectAttempts),
		"REPMGR_RECONNECT_INTERVAL":    strconv.Itoa(db.Repmgr.ReconnectInterval),
		"REPMGR_MONITOR_INTERVAL_SECS": strconv.Itoa(db.Repmgr.MonitorInterval),
		"REPMGR_CONNECT_TIMEOUT":       strconv.Itoa(db.Repmgr.ConnectTimeout),
		// repmgr's password in a passfile the start gate writes, not in
		// repmgr's conninfo, repmgr.nodes and primary_conninfo
		// (healthcheck/passfile.go).
		"REPMGR_USE_PASSFILE":  "true",
		"REPMGR_PASSFILE_PATH": nodeapi.PassfileInContainer,
	}
	for k, v := range imageSafetyEnv {
		env[k] = v
	}
	for k, v := range tlsEnv(inv) {
		env[k] = v
	}
	for k, v := range db.Environment {
		env[k] = v
	}
	return ContainerSpec{
		Name:    db.ContainerName,
		Image:   db.Image,
		Network: "host",
		Restart: "unless-stopped",
		Env:     env,
		Mounts: append([]Mount{
			{Source: db.DataDir, Target: "/bitnami/postgresql"},
			{Source: PostgresSecretPath, Target: secretsInContainer + "/postgres-password", ReadOnly: true},
			{Source: RepmgrSecretPath, Target: secretsInContainer + "/repmgr-password", ReadOnly: true},
			// PostgreSQL's log: the image's log file is a link to
			// /dev/stdout that only root may open, so without a directory
			// here PostgreSQL does not start after the image's setup.
			{Source: path.Join(db.DataDir, "logs"), Target: "/opt/bitnami/postgresql/logs"},
			// The promotion gate: the agent's record, its program, and the
			// repmgr.conf that makes repmgrd ask it.
			{Source: nodeapi.GateDir, Target: nodeapi.GateInContainer, ReadOnly: true},
			{Source: path.Dir(nodeapi.BinaryPath), Target: nodeapi.BinInContainer, ReadOnly: true},
			{Source: repmgrConfDir, Target: "/bitnami/repmgr/conf", ReadOnly: true},
		}, tlsMounts(inv)...),
		RepmgrConf: fmt.Sprintf("%x", sha256.Sum256(repmgrConf())),
		// The start gate (healthcheck.StartGate) before the image's own
		// entrypoint, at every start of the container.
		Entrypoint: nodeapi.BinInContainer + "/haup-check",
		Command:    append([]string{"start-gate", "--"}, nodeapi.ImageEntrypoint...),
		// repmgrd is the container's PID 1 and records its pid in
		// /tmp/repmgrd.pid, which a killed container keeps: started again,
		// repmgrd reads pid 1 (itself) as a live repmgrd and refuses to
		// start, for good. /tmp in memory starts empty every time.
		Tmpfs: []string{"/tmp"},
	}
}

// imageSafetyEnv are the bitnami image's settings haup fixes, each because
// the image's default breaks a guarantee:
//   - REPMGR_DEGRADED_MONITORING_TIMEOUT: by default repmgrd exits after 5 s
//     of degraded monitoring (its database stopped, its failover paused, an
//     election cancelled) and PostgreSQL dies with it, as repmgrd is PID 1:
//     a switchover's target, or a standby isolated behind a witness, would
//     lose its database. -1: repmgrd waits for good.
//   - REPMGR_PRIMARY_VISIBILITY_CONSENSUS: with a witness, no standby
//     promotes while another node still sees the primary.
//   - REPMGR_USE_REPLICATION_SLOTS: no slots, so a lost standby never makes
//     the primary keep WAL without bound; WAL kept for standbys is bounded by
//     wal_keep_size (haup's conf.d file); a standby further behind is
//     re-cloned.
//   - REPMGR_USE_PGREWIND: a standby that starts on a cleanly stopped data
//     directory of the primary's history is checked with pg_rewind (no
//     rewind needed) instead of being cloned again in full.
var imageSafetyEnv = map[string]string{
	"REPMGR_DEGRADED_MONITORING_TIMEOUT":  "-1",
	"REPMGR_PRIMARY_VISIBILITY_CONSENSUS": "true",
	"REPMGR_USE_REPLICATION_SLOTS":        "0",
	"REPMGR_USE_PGREWIND":                 "yes",
}

// RunArgs is the `docker run` command for the spec. No secret is in it: the
// secrets are files mounted read-only.
func (s ContainerSpec) RunArgs() []string {
	args := []string{"docker", "run", "-d", "--name", s.Name, "--network", s.Network,
		"--restart", s.Restart, "--label", specLabel + "=" + s.Label()}
	for _, m := range s.Mounts {
		v := m.Source + ":" + m.Target
		if m.ReadOnly {
			v += ":ro"
		}
		args = append(args, "-v", v)
	}
	for _, d := range s.Tmpfs {
		args = append(args, "--tmpfs", d+":rw,nosuid,nodev,mode=1777")
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-e", k+"="+s.Env[k])
	}
	if s.Entrypoint != "" {
		args = append(args, "--entrypoint", s.Entrypoint)
	}
	return append(append(args, s.Image), s.Command...)
}

// VIPAddr is the VIP without its prefix length.
func VIPAddr(inv *inventory.Inventory) string {
	p, err := netip.ParsePrefix(inv.Keepalived.VirtualIPAddress)
	if err != nil {
		return inv.Keepalived.VirtualIPAddress
	}
	return p.Addr().String()
}

// checkProgramEffect says what a new health-check program does: keepalived
// runs the file on disk at each check, so the new one from its next run.
func checkProgramEffect([]byte) string {
	return "keepalived runs the new health check from its next check (within the check interval; no reload, no restart)"
}

// checkEffect says what a change of the check's configuration does: zero-loss
// mode on or off, a witness added or removed.
func checkEffect(inv *inventory.Inventory) func(old []byte) string {
	zl := zeroLossEffect(inv.Database.Synchronous)
	return func(old []byte) string {
		var out []string
		if s := zl(old); s != "" {
			out = append(out, s)
		}
		var was nodeapi.Config
		if json.Unmarshal(old, &was) == nil || len(old) == 0 {
			switch {
			case inv.HasWitness() && was.Witness == nil:
				out = append(out, "witness "+inv.Witness.Name+" on: from the next check, a primary that sees neither its peer nor the witness gives up the VIP and, at the second such check, refuses writes (no restart)")
			case !inv.HasWitness() && was.Witness != nil:
				out = append(out, "witness "+was.Witness.Name+" off: a primary keeps the VIP and its writes whatever it sees (two-node behaviour; no restart)")
			}
			if m := metricsEffect(inv, was.MetricsDir); m != "" {
				out = append(out, m)
			}
			if stale := RepmgrdStaleS(inv.Database.Repmgr); len(old) > 0 && was.RepmgrdStaleS != stale {
				out = append(out, fmt.Sprintf("stuck repmgrd reset after %d s: from the next check, a standby whose repmgrd has not reached its upstream for %d s has repmgrd's stuck connections to the other nodes reset (was %s; no restart)",
					stale, stale, map[bool]string{true: "never", false: fmt.Sprintf("after %d s", was.RepmgrdStaleS)}[was.RepmgrdStaleS == 0]))
			}
		}
		return strings.Join(out, "; ")
	}
}

// metricsEffect says what turning the metrics on, off or elsewhere does:
// the agent writes (or stops writing) haup.prom from its next check.
func metricsEffect(inv *inventory.Inventory, was string) string {
	now := inv.Metrics.TextfileDir
	switch {
	case now == was:
		return ""
	case was == "":
		return "metrics on: from the next check the agent writes " + path.Join(now, nodeapi.MetricsFileName) + " every 5 s for node_exporter's textfile collector (no restart)"
	case now == "":
		return "metrics off: the agent stops writing " + path.Join(was, nodeapi.MetricsFileName) + "; the last file stays until you delete it (no restart)"
	}
	return "metrics moved: the agent writes " + path.Join(now, nodeapi.MetricsFileName) + " instead of " + path.Join(was, nodeapi.MetricsFileName) + ", which stays until you delete it (no restart)"
}

// zeroLossEffect says what turning zero-loss mode on or off does: the
// primary's check applies it within a check interval, with no restart.
func zeroLossEffect(want bool) func(old []byte) string {
	return func(old []byte) string {
		var was nodeapi.Config
		if json.Unmarshal(old, &was) != nil && len(old) > 0 {
			return ""
		}
		switch {
		case want && !was.Synchronous:
			return "zero-loss mode on: within a check interval the primary's check makes every commit wait until a standby has it (one round trip to the standby per commit; no restart)"
		case !want && was.Synchronous:
			return "zero-loss mode off: within a check interval commits stop waiting for the standby; a failover may then lose the last acknowledged writes (no restart)"
		}
		return ""
	}
}
