package inventory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/haup-project/haup/internal/tlsca"
	"go.yaml.in/yaml/v3"
)

// maxPostgresPassword is the longest POSTGRESQL_PASSWORD the image
// accepts, in characters.
const maxPostgresPassword = 100

// maxSecretSize bounds a secret file: a secret is a line, and reading
// /dev/zero by mistake must not hang.
const maxSecretSize = 4096

type validator struct {
	ctx      context.Context
	file     string
	root     *yaml.Node
	inv      *Inventory
	problems problemSet
	warnings []string
	// bad holds the paths whose values could not be decoded: problems under
	// them would only repeat that (a "missing" field that was given).
	bad map[string]bool
	// given holds every path the decoder reached, but list items, which
	// lists holds by the list's path.
	given map[string]givenKey
	lists map[string][]givenKey
}

func (v *validator) markBad(path string) {
	if v.bad == nil {
		v.bad = map[string]bool{}
	}
	v.bad[path] = true
}

// underBad tells whether path or one of its parents could not be decoded.
func (v *validator) underBad(path string) bool {
	if len(v.bad) == 0 {
		return false
	}
	if v.bad[""] {
		return true
	}
	for i := len(path); i > 0; i-- {
		if i == len(path) || path[i] == '.' || path[i] == '[' {
			if v.bad[path[:i]] {
				return true
			}
		}
	}
	return false
}

// badWithin tells whether a field under path could not be decoded.
func (v *validator) badWithin(path string) bool {
	for p := range v.bad {
		if strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return false
}

// add records a problem at the YAML line of path (or of its nearest
// existing parent, for a missing field).
func (v *validator) add(path, format string, args ...any) {
	if v.underBad(path) {
		return
	}
	v.addAt(v.lineOf(path), path, format, args...)
}

func (v *validator) addAt(line int, path, format string, args ...any) {
	if v.problems.beyond(line) {
		// Not listed: formatting it would only cost time.
		v.problems.total++
		return
	}
	v.problems.add(Problem{File: v.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) warn(path, format string, args ...any) {
	p := Problem{File: v.file, Line: v.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)}
	v.warnings = append(v.warnings, p.String())
}

// givenKey is what the decoder saw at a path: the line of its key (of the
// list item, for an index) and whether its value is null.
type givenKey struct {
	line int
	null bool
}

// saw records that the decoder reached path. Decoding and validation
// thereby agree on what is given, at any depth of aliases and merge keys.
func (v *validator) saw(path string, line int, null bool) {
	if v.given == nil {
		v.given = map[string]givenKey{}
	}
	if _, ok := v.given[path]; !ok {
		v.given[path] = givenKey{line, null}
	}
}

// sawList records the items of the list at path, in one entry: a list
// may have a million of them.
func (v *validator) sawList(path string, items []*yaml.Node) {
	if _, ok := v.lists[path]; ok {
		return
	}
	if v.lists == nil {
		v.lists = map[string][]givenKey{}
	}
	g := make([]givenKey, len(items))
	for i, n := range items {
		g[i] = givenKey{n.Line, isNullValue(n)}
	}
	v.lists[path] = g
}

// givenAt returns what the decoder saw at path.
func (v *validator) givenAt(path string) (givenKey, bool) {
	if strings.HasSuffix(path, "]") {
		i := strings.LastIndexByte(path, '[')
		n, err := strconv.Atoi(path[i+1 : len(path)-1])
		if items := v.lists[path[:i]]; err == nil && n >= 0 && n < len(items) {
			return items[n], true
		}
		return givenKey{}, false
	}
	g, ok := v.given[path]
	return g, ok
}

// parent is the path one level up: nodes[1].ssh for nodes[1].ssh.port,
// nodes for nodes[1], "" for nodes.
func parent(path string) string {
	return path[:max(strings.LastIndexByte(path, '.'), strings.LastIndexByte(path, '['), 0)]
}

// lineOf is the line of path's key, or of its nearest given parent for a
// missing field.
func (v *validator) lineOf(path string) int {
	for {
		if g, ok := v.givenAt(path); ok {
			return g.line
		}
		if path == "" {
			return v.root.Line
		}
		path = parent(path)
	}
}

// has tells whether the inventory gives path a value: an absent key and an
// explicit null both leave the default.
func (v *validator) has(path string) bool {
	g, ok := v.givenAt(path)
	return ok && !g.null
}

// expand resolves ~ and paths relative to the inventory's directory.
func (v *validator) expand(p string) string {
	if p == "" {
		return p
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(v.inv.Path), p)
	}
	return p
}

func (v *validator) resolvePaths() {
	s := &v.inv.SSH
	for i := range s.IdentityFiles {
		s.IdentityFiles[i] = v.expand(s.IdentityFiles[i])
	}
	s.KnownHosts = v.expand(s.KnownHosts)
	if s.SSHConfigFile == "" && !v.has("ssh.ssh_config") {
		s.SSHConfigFile = "~/.ssh/config"
	}
	s.SSHConfigFile = v.expand(s.SSHConfigFile)
}

func (v *validator) resolveSecrets() {
	if v.has("keepalived.auth_pass") {
		v.resolve("keepalived.auth_pass", &v.inv.Keepalived.AuthPass)
	}
	v.resolve("database.postgres_password", &v.inv.Database.PostgresPassword)
	v.resolve("database.repmgr_password", &v.inv.Database.RepmgrPassword)
}

func (v *validator) resolve(path string, s *Secret) {
	if v.underBad(path) || v.badWithin(path) {
		return
	}
	switch {
	case s.Env == "" && s.File == "":
		v.add(path, "missing: give {env: NAME} or {file: PATH}")
	case s.Env != "" && s.File != "":
		v.add(path, "give either env or file, not both")
	case s.Env != "":
		val, ok := os.LookupEnv(s.Env)
		if !ok || val == "" {
			v.add(path, "environment variable %s is not set", quote(s.Env))
			return
		}
		s.value = val
	default:
		b, mode, err := readSecret(v.expand(s.File))
		var nr notRegularError
		switch {
		case errors.As(err, &nr):
			v.add(path, "secret file %s is %s, not a regular file: give a file holding the secret", s.File, nr.what)
			return
		case err != nil:
			v.add(path, "cannot read secret file %s: %v", s.File, err)
			return
		}
		if mode.Perm()&0o077 != 0 {
			v.warn(path, "secret file %s is readable by others (mode %04o); chmod 600 it", s.File, mode.Perm())
		}
		// Editors end a file with a line break; the secret is the line.
		s.value = strings.TrimRight(string(b), "\r\n")
		if s.value == "" {
			v.add(path, "secret file %s is empty", s.File)
		}
	}
}

// readSecret reads a regular file of at most maxSecretSize bytes and
// returns it with its mode. The file is opened without blocking (a FIFO
// nobody writes to would block open itself) and its type is taken from the
// opened descriptor, so a file swapped after a check cannot slip through:
// a pipe, a device or a directory could block or never end.
func readSecret(p string) ([]byte, fs.FileMode, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		// Opening a socket fails (ENXIO); say what the path is.
		if st, serr := os.Stat(p); serr == nil && !st.Mode().IsRegular() {
			err = notRegular(st.Mode())
		}
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, notRegular(st.Mode())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return nil, 0, err
	}
	if len(b) > maxSecretSize {
		return nil, 0, fmt.Errorf("larger than %d bytes", maxSecretSize)
	}
	return b, st.Mode(), nil
}

// notRegularError is a secret file that is not a regular file.
type notRegularError struct{ what string }

func (e notRegularError) Error() string { return "is " + e.what + ", not a regular file" }

// notRegular names what a secret file is instead of a regular file.
func notRegular(m fs.FileMode) error {
	what := "a special file"
	switch {
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	}
	return notRegularError{what}
}

var (
	// nodeNameRe is what the image's repmgr contract accepts (a name ending in
	// -<number>, the number giving the node id) narrowed to a token that is
	// also safe as a hostname and inside keepalived.conf.
	nodeNameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?-([0-9]+)$`)
	// containerNameRe is Docker's: at least two characters.
	containerNameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
	// interfaceRe is a Linux interface name (IFNAMSIZ, no '/', ':' or
	// spaces) narrowed to what is safe in keepalived.conf. An alias label
	// like eth0:1 or the eth0@if12 of `ip link` names no interface.
	interfaceRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,15}$`)
	envKeyRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	userRe      = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.@-]{0,31}$`)
)

// repmgrIDBase is what the image adds to a name's number to get the repmgr
// node id, which repmgr keeps in a 32-bit signed integer.
const repmgrIDBase = 1000

// RepmgrNodeID is the id the image derives from the node name: its numeric
// suffix plus 1000. It is 0 for a name validation refuses.
func (n Node) RepmgrNodeID() int {
	m := nodeNameRe.FindStringSubmatch(n.Name)
	if m == nil {
		return 0
	}
	id, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil || id > math.MaxInt32-repmgrIDBase {
		return 0
	}
	return int(id) + repmgrIDBase
}

// authPassOK tells whether keepalived.conf can hold p as auth_pass: one
// token, without what its parser treats as a comment, a quote, a block, an
// escape or a variable.
func authPassOK(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'#!\\{}$", c) >= 0 {
			return false
		}
	}
	return true
}

func (v *validator) validate() {
	inv := v.inv
	k := inv.Keepalived
	if len(inv.Nodes) < 2 {
		v.add("nodes", "need at least 2 nodes, got %d", len(inv.Nodes))
	}

	vip, vipErr := netip.ParsePrefix(k.VirtualIPAddress)
	switch {
	case !v.has("keepalived.virtual_ipaddress"):
		v.add("keepalived.virtual_ipaddress", "missing: the VIP with its prefix length, e.g. 192.168.1.10/24")
	case vipErr != nil:
		if _, err := netip.ParseAddr(k.VirtualIPAddress); err == nil {
			v.add("keepalived.virtual_ipaddress", "%s has no prefix length (e.g. %s/24)", quote(k.VirtualIPAddress), k.VirtualIPAddress)
		} else {
			v.add("keepalived.virtual_ipaddress", "%s is not an address with a prefix length", quote(k.VirtualIPAddress))
		}
	case !vip.Addr().Is4():
		vipErr = errors.New("not IPv4")
		v.add("keepalived.virtual_ipaddress", "only IPv4 VIPs are supported, got %s", vip)
	case vip.Bits() < 8 || vip.Bits() > 30:
		vipErr = errors.New("bad prefix")
		v.add("keepalived.virtual_ipaddress", "prefix length /%d leaves no room for nodes and a VIP", vip.Bits())
	case unusable(vip.Addr(), vip) != "":
		v.add("keepalived.virtual_ipaddress", "%s is %s", vip.Addr(), unusable(vip.Addr(), vip))
	}
	if !v.has("keepalived.virtual_router_id") {
		v.add("keepalived.virtual_router_id", "missing: VRRP's router id, 1..255, unique on the network segment")
	} else {
		v.inRange("keepalived.virtual_router_id", k.VirtualRouterID)
	}
	switch k.VRRPVersion {
	case 2:
		if k.AdvertInt%100 != 0 || k.AdvertInt < 100 || k.AdvertInt > 25500 {
			v.add("keepalived.advert_int", "must be whole seconds, 1..255, with vrrp_version 2, got %s (sub-second adverts need vrrp_version 3)", k.AdvertInt)
		}
	case 3:
		if k.AdvertInt < 1 || k.AdvertInt > 4095 {
			v.add("keepalived.advert_int", "must be 0.01..40.95 seconds with vrrp_version 3, got %s", k.AdvertInt)
		}
		if v.has("keepalived.auth_pass") {
			v.add("keepalived.auth_pass", "VRRP version 3 has no authentication (keepalived ignores auth_pass): remove auth_pass, or set keepalived.vrrp_version: 2 to keep it (whole-second adverts, a slower failover)")
		}
	default:
		v.add("keepalived.vrrp_version", "must be 2 or 3, got %d", k.VRRPVersion)
	}
	if p := k.AuthPass.Value(); p != "" {
		if len(p) > 8 {
			v.add("keepalived.auth_pass", "is %d bytes; keepalived silently truncates it to 8", len(p))
		}
		if !authPassOK(p) {
			v.add("keepalived.auth_pass", "contains a character keepalived.conf cannot hold here: use printable ASCII without spaces, quotes, braces, #, !, $ or backslashes")
		}
	}
	if v.has("keepalived.interface") {
		v.checkInterface("keepalived.interface", k.Interface)
	}
	c := k.Check
	okInterval := v.inRange("keepalived.check.interval", c.Interval)
	if v.inRange("keepalived.check.timeout", c.Timeout) && okInterval && c.Timeout > c.Interval {
		// haup-check ends itself at 80% of the timeout, so a check never
		// overlaps the next one when the timeout is at most the interval.
		v.add("keepalived.check.timeout", "must be at most the interval (%d s), so a slow check never overlaps the next one", c.Interval)
	}
	v.inRange("keepalived.check.fall", c.Fall)
	v.inRange("keepalived.check.rise", c.Rise)

	db := inv.Database
	switch {
	case !v.has("database.image"):
		v.add("database.image", "missing: the database image, e.g. wjy2020/timescaledb-repmgr:pg14.15-ts2.17.2")
	default:
		if why := checkImageRef(db.Image); why != "" {
			v.add("database.image", "%s is not a valid image reference: %s", quote(db.Image), why)
		}
	}
	if !containerNameRe.MatchString(db.ContainerName) {
		v.add("database.container_name", "%s is not a valid container name", quote(db.ContainerName))
	}
	if !filepath.IsAbs(db.DataDir) || filepath.Clean(db.DataDir) == "/" || strings.ContainsAny(db.DataDir, ": \t") {
		v.add("database.data_dir", "must be an absolute directory other than / without spaces or colons, got %s", quote(db.DataDir))
	}
	if db.Port >= 1 && db.Port < 1024 {
		// --network host: the port is the host's, and binding one below
		// 1024 takes root (CAP_NET_BIND_SERVICE), which postgres has not.
		f := fieldOf("database.port")
		v.add("database.port", "must be %d..%d, got %d: the image runs PostgreSQL as its non-root user postgres, which cannot listen on a port below 1024", f.Min, f.Max, db.Port)
	} else {
		v.inRange("database.port", db.Port)
	}
	for _, s := range []struct {
		path string
		v    string
	}{{"database.postgres_password", db.PostgresPassword.Value()}, {"database.repmgr_password", db.RepmgrPassword.Value()}} {
		switch {
		case strings.ContainsAny(s.v, "\n\r"):
			v.add(s.path, "must be one line")
		case strings.IndexFunc(s.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
			v.add(s.path, "contains a NUL or another control character, which the image cannot pass on")
		}
	}
	// The image writes the repmgr password unquoted into repmgr's conninfo
	// (conninfo='user=repmgr password=PW host=...' in repmgr.conf and
	// repmgr.nodes, librepmgr.sh:527) and into primary_conninfo, where
	// white space ends it, a quote ends the setting, and '\\' escapes; and
	// into shell commands (promote_command's PGPASSWORD=PW), where $, ` and
	// the shell's other characters act. (Its .pgpass alternative is written
	// root-only, unreadable by the postgres user repmgr runs as.)
	if i := strings.IndexAny(db.RepmgrPassword.Value(), " \t\\'\"`$&;|<>()*?[]{}!#~"); i >= 0 {
		v.add("database.repmgr_password", "contains %q, which the image writes unquoted into repmgr's connection strings and commands: use letters, digits and - _ . , + = @ %% ^ / only", db.RepmgrPassword.Value()[i:i+1])
	}
	// The image creates the repmgr user inside DO $do$ ... $do$
	// (librepmgr.sh:346-351, libpostgresql.sh:1228-1238): the password's
	// quotes are doubled, but a $do$ in it ends the block.
	if strings.Contains(db.RepmgrPassword.Value(), "$do$") {
		v.add("database.repmgr_password", "contains $do$, which ends the dollar-quoted block the image creates the repmgr user in")
	}
	// The image's own limit, counted in characters (LANG=en_US.UTF-8),
	// on POSTGRESQL_PASSWORD only: REPMGR_PASSWORD has none.
	if n := utf8.RuneCountInString(db.PostgresPassword.Value()); n > maxPostgresPassword {
		v.add("database.postgres_password", "is %d characters; the image refuses a postgres password over %d (libpostgresql.sh:77)", n, maxPostgresPassword)
	}
	v.inRange("database.max_lag_on_failover.bytes", db.MaxLagOnFailover.Bytes)
	v.inRange("database.max_lag_on_failover.seconds", db.MaxLagOnFailover.Seconds)
	if db.Synchronous && v.has("database.max_lag_on_failover") {
		v.add("database.max_lag_on_failover", "applies to asynchronous mode only: with database.synchronous: true only a standby in sync is promoted, whatever its lag")
	} else if min := MinMaxLagSeconds(db.Repmgr); v.has("database.max_lag_on_failover.seconds") && db.MaxLagOnFailover.Seconds >= 0 && db.MaxLagOnFailover.Seconds < min {
		v.add("database.max_lag_on_failover.seconds", "is %d, but repmgrd takes up to %d s to notice a lost primary with these database.repmgr timings, and the bound counts that time: no standby would ever be promoted automatically; give at least %d", db.MaxLagOnFailover.Seconds, min-2, min)
	}
	r := db.Repmgr
	// 0 attempts: repmgr promotes after the first unanswered check.
	v.inRange("database.repmgr.reconnect_attempts", r.ReconnectAttempts)
	v.inRange("database.repmgr.reconnect_interval", r.ReconnectInterval)
	v.inRange("database.repmgr.monitor_interval", r.MonitorInterval)
	// libpq takes a connect_timeout of 1 for 2: refused rather than
	// silently doubled.
	if r.ConnectTimeout == 1 {
		f := fieldOf("database.repmgr.connect_timeout")
		v.add("database.repmgr.connect_timeout", "must be %d..%d%s, got 1 (libpq waits at least 2 s: it would use 2)", f.Min, f.Max, f.Unit)
	} else {
		v.inRange("database.repmgr.connect_timeout", r.ConnectTimeout)
	}
	keys := make([]string, 0, len(db.Environment))
	for key := range db.Environment {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		path := "database.environment." + key
		if v.underBad(path) {
			continue
		}
		line := v.lineOf(path)
		switch {
		case !envKeyRe.MatchString(key):
			v.addAt(line, "database.environment", "%s is not a valid environment variable name", quote(key))
		default:
			if why := checkEnv(key, db.Environment[key]); why != "" {
				v.addAt(line, path, "%s", why)
			}
		}
	}

	s := inv.SSH
	v.inRange("ssh.port", s.Port)
	if v.has("ssh.user") && !userRe.MatchString(s.User) {
		v.add("ssh.user", "%s is not a valid user name", quote(s.User))
	}
	if v.has("ssh.known_hosts") && s.KnownHosts == "" {
		v.add("ssh.known_hosts", "is empty")
	}
	if v.has("ssh.ssh_config") && s.SSHConfigFile == "" {
		v.add("ssh.ssh_config", "is empty")
	}
	for i, f := range s.IdentityFiles {
		if f == "" {
			v.add(fmt.Sprintf("ssh.identity_files[%d]", i), "is empty")
		}
	}
	for i, j := range s.ProxyJump {
		v.jump(fmt.Sprintf("ssh.proxy_jump[%d]", i), j)
	}
	for i, n := range inv.Nodes {
		for k, j := range n.SSH.ProxyJump {
			v.jump(fmt.Sprintf("nodes[%d].ssh.proxy_jump[%d]", i, k), j)
		}
	}
	for k, j := range inv.Witness.SSH.ProxyJump {
		v.jump(fmt.Sprintf("witness.ssh.proxy_jump[%d]", k), j)
	}
	if len(s.IdentityFiles) == 0 && !s.Agent && !v.underBad("ssh.agent") && !v.underBad("ssh.identity_files") {
		v.add("ssh", "no way to log in: give identity_files or agent: true")
	}

	v.nodes(vip, vipErr == nil)
	v.metrics()
	v.allowedClients()
	v.tls()
}

func (v *validator) checkInterface(path, name string) {
	switch {
	case name == "":
		v.add(path, "is empty")
	case !interfaceRe.MatchString(name) || name == "." || name == "..":
		v.add(path, "%s is not a valid interface name (at most 15 bytes of letters, digits, '_', '.' or '-')", quote(name))
	case name == "lo":
		v.add(path, "lo is the loopback interface: VRRP and the VIP need the interface on the nodes' network, the one carrying their address")
	}
}

// metrics validates the metrics section: absent or null is off; given, it
// needs a directory the agent can write haup.prom into by its name alone.
func (v *validator) metrics() {
	if !v.has("metrics") {
		return
	}
	v.inv.Metrics.Enabled = true
	dir := v.inv.Metrics.TextfileDir
	const want = "the directory node_exporter's textfile collector reads, e.g. /var/lib/prometheus/node-exporter"
	switch {
	case !v.has("metrics.textfile_dir"):
		v.add("metrics.textfile_dir", "missing: %s", want)
	case dir == "":
		v.add("metrics.textfile_dir", "is empty: %s (or remove the metrics section to turn metrics off)", want)
	case !strings.HasPrefix(dir, "/"):
		v.add("metrics.textfile_dir", "%s is relative: give an absolute directory, %s", quote(dir), want)
	case strings.IndexFunc(dir, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		v.add("metrics.textfile_dir", "%s holds a space or a control character", quote(dir))
	case dir == "/":
		v.add("metrics.textfile_dir", "is /: give the collector's own directory")
	case path.Clean(dir) != dir:
		v.add("metrics.textfile_dir", "%s is not a clean path (a '.' or '..' part, a doubled or trailing '/'): write %s", quote(dir), quote(path.Clean(dir)))
	}
}

// owner is the node field that first used an address.
type owner struct {
	node  int
	field string
}

func (v *validator) nodes(vip netip.Prefix, vipOK bool) {
	inv := v.inv
	db := inv.Database
	// The witness is validated like a node (name, repmgr id, addresses, ssh),
	// after the nodes, as member len(inv.Nodes); it has no VIP settings.
	type member struct {
		path    string
		node    Node
		witness bool
	}
	var members []member
	for i, n := range inv.Nodes {
		members = append(members, member{fmt.Sprintf("nodes[%d]", i), n, false})
	}
	if v.has("witness") {
		members = append(members, member{"witness", inv.WitnessNode(), true})
	}
	names := map[string]int{}
	ids := map[int]int{}
	owners := map[string]owner{}
	type endpoint struct {
		node  int
		given bool
	}
	endpoints := map[string]endpoint{}
	// endpointOf records that member i is reached over ssh at ep; two
	// members at one address are reported at the address, an ssh endpoint
	// when one of its two users gave it.
	endpointOf := func(i int, p, ep string, given bool) {
		if e, ok := endpoints[ep]; !ok {
			endpoints[ep] = endpoint{i, given}
		} else if given || e.given {
			v.add(p+".ssh", "ssh endpoint %s is also used by %s", ep, members[e.node].path)
		}
	}
	// claim records that node i uses addr in field, refusing an address
	// another node uses in any of its fields.
	claim := func(i int, field, addr string) {
		key := canonicalHost(addr)
		if o, ok := owners[key]; ok {
			if o.node != i {
				v.add(members[i].path+"."+field, "%s is also %s.%s", addr, members[o.node].path, o.field)
			}
			return
		}
		owners[key] = owner{i, field}
	}
	// checkIP validates a node's IPv4 address field.
	checkIP := func(path, val string) (netip.Addr, bool) {
		a, err := netip.ParseAddr(val)
		switch {
		case val == "":
			v.add(path, "is empty")
		case err != nil || !a.Is4():
			v.add(path, "%s is not an IPv4 address", quote(val))
		case unusable(a, vip) != "" && (vipOK || !strings.Contains(unusable(a, vip), "subnet")):
			v.add(path, "%s is %s", a, unusable(a, vip))
		case vipOK && a == vip.Addr():
			v.add(path, "%s is the VIP itself", a)
		default:
			return a, true
		}
		return a, false
	}
	// The container shares the host's network: a node whose sshd listens
	// on the database port cannot run both. Only checked where SSH lands
	// on the node itself (not through a forwarded port elsewhere), and not
	// when ~/.ssh/config may set another port.
	clashed := false
	sshClash := func(p string, n Node) {
		if clashed || n.SSH.Port != db.Port || db.Port < 1024 || inv.SSH.UseSSHConfig {
			return
		}
		at := canonicalHost(n.SSH.Address)
		if at != canonicalHost(n.Address) && at != canonicalHost(n.DatabaseAddress) && at != canonicalHost(n.UnicastSrcIP) {
			return
		}
		clashed = true
		v.add("database.port", "%d is also the SSH port of %s, on the same host: PostgreSQL shares the host's network with sshd; choose another port", db.Port, p)
	}
	primaryFound := false
	for i, m := range members {
		if i%256 == 0 && v.ctx.Err() != nil {
			return
		}
		p, n := m.path, m.node
		switch {
		case !v.has(p + ".name"):
			v.add(p+".name", "missing")
		case len(n.Name) > 63 || !nodeNameRe.MatchString(n.Name):
			v.add(p+".name", "%s must be at most 63 lowercase letters, digits, dots or dashes ending in -<number> (the image's repmgr derives the node id from it), e.g. pg-0", quote(n.Name))
		default:
			num := nodeNameRe.FindStringSubmatch(n.Name)[2]
			switch {
			case len(num) > 1 && num[0] == '0':
				v.add(p+".name", "%s: the number after the last dash has a leading zero, which the image reads as octal", quote(n.Name))
			case n.RepmgrNodeID() == 0:
				v.add(p+".name", "%s: repmgr node id %s+%d does not fit repmgr's 32-bit node id (at most %d)", quote(n.Name), clip(num), repmgrIDBase, math.MaxInt32)
			default:
				if j, ok := names[n.Name]; ok {
					v.add(p+".name", "name %s is also used by %s", n.Name, members[j].path)
				} else if j, ok := ids[n.RepmgrNodeID()]; ok {
					v.add(p+".name", "repmgr node id %d is also used by %s", n.RepmgrNodeID(), members[j].path)
				}
				names[n.Name] = i
				if _, ok := ids[n.RepmgrNodeID()]; !ok {
					ids[n.RepmgrNodeID()] = i
				}
			}
		}
		if n.Name == db.Primary {
			if m.witness {
				v.add("database.primary", "names the witness %s: the primary is one of the nodes", quote(db.Primary))
			}
			primaryFound = true
		}

		addrOK := false
		if !v.has(p + ".address") {
			v.add(p+".address", "missing")
		} else if _, addrOK = checkIP(p+".address", n.Address); addrOK {
			claim(i, "address", n.Address)
		}
		if m.witness {
			// A witness has a database address and ssh, no VRRP.
			if dp := p + ".database_address"; v.has(dp) {
				if v.hostOrIPv4(dp, n.DatabaseAddress, vip, vipOK) {
					claim(i, "database_address", n.DatabaseAddress)
				}
			}
			v.memberSSH(p, n, addrOK, func(ep string, given bool) { endpointOf(i, p, ep, given) })
			sshClash(p, n)
			continue
		}
		srcGiven := v.has(p + ".unicast_src_ip")
		srcPath := p + ".address"
		srcOK := addrOK
		if srcGiven {
			srcPath = p + ".unicast_src_ip"
			if _, srcOK = checkIP(srcPath, n.UnicastSrcIP); srcOK {
				claim(i, "unicast_src_ip", n.UnicastSrcIP)
			}
		}
		if srcOK && vipOK {
			if src := netip.MustParseAddr(n.UnicastSrcIP); !vip.Masked().Contains(src) {
				v.add(srcPath, "%s is outside the VIP's subnet %s", src, vip.Masked())
			}
		}
		if dp := p + ".database_address"; v.has(dp) {
			if v.hostOrIPv4(dp, n.DatabaseAddress, vip, vipOK) {
				claim(i, "database_address", n.DatabaseAddress)
			}
		}

		// An inherited interface was checked at keepalived.interface.
		if ip := p + ".interface"; v.has(ip) {
			v.checkInterface(ip, n.Interface)
		} else if !v.has("keepalived.interface") {
			v.add(ip, "missing: set it here or keepalived.interface")
		}
		// 254 is what a newly promoted primary's precedence raises its
		// priority to; a node configured at 254 would tie with it and keep
		// the VIP on an older primary (templates: track_file).
		if n.Priority == 254 {
			f := fieldOf(p + ".priority")
			v.add(p+".priority", "must be %d..%d, got 254: 254 is reserved for a newly promoted primary, which must outrank every configured priority", f.Min, f.Max)
		} else {
			v.inRange(p+".priority", n.Priority)
		}
		// An inherited port or user was checked where it was given.
		v.memberSSH(p, n, addrOK, func(ep string, given bool) { endpointOf(i, p, ep, given) })
		sshClash(p, n)
	}
	if db.Primary != "" && !primaryFound && len(inv.Nodes) > 0 || db.Primary == "" && v.has("database.primary") {
		v.add("database.primary", "names no node: %s", quote(db.Primary))
	}
}

// memberSSH validates the ssh overrides of a node or the witness at p and
// reports its endpoint when it is usable.
func (v *validator) memberSSH(p string, n Node, addrOK bool, endpoint func(ep string, given bool)) {
	f := fieldOf("ssh.port")
	portOK := v.inv.SSH.Port >= f.Min && v.inv.SSH.Port <= f.Max
	if v.has(p + ".ssh.port") {
		portOK = v.inRange(p+".ssh.port", n.SSH.Port)
	}
	if v.has(p+".ssh.user") && !userRe.MatchString(n.SSH.User) {
		v.add(p+".ssh.user", "%s is not a valid user name", quote(n.SSH.User))
	}
	sshOK := addrOK
	if sp := p + ".ssh.address"; v.has(sp) {
		sshOK = v.sshHost(sp, n.SSH.Address)
	}
	if sshOK && portOK {
		given := v.has(p+".ssh.address") || v.has(p+".ssh.port")
		endpoint(canonicalHost(n.SSH.Address)+" port "+strconv.Itoa(n.SSH.Port), given)
	}
}

// hostOrIPv4 validates an address other nodes reach: an IPv4 address a node
// can have, or a hostname.
func (v *validator) hostOrIPv4(path, val string, vip netip.Prefix, vipOK bool) bool {
	if a, err := netip.ParseAddr(val); err == nil {
		switch why := unusable(a, vip); {
		case !a.Is4():
			v.add(path, "%s: only IPv4 addresses are supported", a)
		case why != "" && (vipOK || !strings.Contains(why, "subnet")):
			v.add(path, "%s is %s", a, why)
		case vipOK && a == vip.Addr():
			v.add(path, "%s is the VIP itself", a)
		default:
			return true
		}
		return false
	}
	if a, ok := inetAton(val); ok {
		// Not a name: libpq and the resolver read it as an address.
		if why := unusable(a, netip.Prefix{}); why != "" {
			v.add(path, "%s is read as the IPv4 address %s (inet_aton's short or numeric form), %s", quote(val), a, why)
		} else {
			v.add(path, "%s is read as the IPv4 address %s (inet_aton's short or numeric form): write %s", quote(val), a, a)
		}
		return false
	}
	if !isHostname(val) {
		v.add(path, "%s is neither an IPv4 address nor a hostname", quote(val))
		return false
	}
	if isLoopbackName(val) {
		v.add(path, "%s names the host itself (a loopback address): other nodes and repmgr connect to it, so give an address or name they reach this host at", quote(val))
		return false
	}
	return true
}

// jump validates a bastion, "[user@]host[:port]".
func (v *validator) jump(path, val string) {
	if v.underBad(path) {
		return
	}
	user, host, port, err := ParseJump(val)
	switch {
	case err != nil:
		v.add(path, "%s: %v", quote(val), err)
	case user != "" && !userRe.MatchString(user):
		v.add(path, "%s is not a valid user name", quote(user))
	case port < 1 || port > 65535:
		v.add(path, "port must be 1..65535, got %d", port)
	default:
		v.sshHost(path, host)
	}
}

// ParseJump splits a bastion "[user@]host[:port]" (an IPv6 host in
// brackets); the port is 22 unless given, the user empty unless given.
func ParseJump(s string) (user, host string, port int, err error) {
	if s == "" {
		return "", "", 0, errors.New("is empty")
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		user, s = s[:i], s[i+1:]
	}
	port = 22
	if h, p, serr := net.SplitHostPort(s); serr == nil {
		n, perr := strconv.Atoi(p)
		if perr != nil {
			return "", "", 0, fmt.Errorf("port %q is not a number", p)
		}
		host, port = h, n
	} else {
		host = s
	}
	if host == "" {
		return "", "", 0, errors.New("no host")
	}
	return user, host, port, nil
}

// sshHost validates where SSH connects: an IP address or a hostname.
// Loopback is allowed (a forwarded port); addresses nothing listens on are not.
func (v *validator) sshHost(path, val string) bool {
	if a, err := netip.ParseAddr(val); err == nil {
		if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			v.add(path, "%s is %s", a, unusable(a, netip.Prefix{}))
			return false
		}
		return true
	}
	if !isHostname(val) {
		v.add(path, "%s is neither an IP address nor a hostname", quote(val))
		return false
	}
	return true
}

// isHostname checks DNS name syntax (RFC 1123), with or without the
// trailing dot of a fully qualified name, which resolvers accept. A name of
// digits and dots only is a mistyped address, not a name.
func isHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

// unusable says why a node cannot have the IPv4 address a on the VIP's
// subnet, or "".
func unusable(a netip.Addr, subnet netip.Prefix) string {
	switch {
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsMulticast():
		return "a multicast address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	case a.Is4() && a.As4()[0] >= 240:
		return "a reserved address (240.0.0.0/4)"
	case subnet.IsValid() && a.Is4() && subnet.Addr().Is4() && subnet.Masked().Contains(a) && a == subnet.Masked().Addr():
		return "the network address of the subnet " + subnet.Masked().String()
	case subnet.IsValid() && a.Is4() && subnet.Addr().Is4() && subnet.Masked().Contains(a) && a == broadcast(subnet):
		return "the broadcast address of the subnet " + subnet.Masked().String()
	}
	return ""
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= host
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// SecretValues returns every resolved secret, for masking output.
func (inv *Inventory) SecretValues() []string {
	var out []string
	for _, s := range []Secret{inv.Keepalived.AuthPass, inv.Database.PostgresPassword, inv.Database.RepmgrPassword} {
		if s.value != "" {
			out = append(out, s.value)
		}
	}
	return out
}

// MinMaxLagSeconds is the least database.max_lag_on_failover.seconds that
// lets a standby be promoted at all: the promotion gate counts the time
// since the standby last streamed, which includes the time repmgrd takes to
// notice the lost primary (a monitor interval, then each attempt's connect
// timeout and wait), and two of the agent's one-second checks.
func MinMaxLagSeconds(r Repmgr) int {
	return r.MonitorInterval + (r.ReconnectAttempts+1)*(r.ConnectTimeout+r.ReconnectInterval) + 2
}

// allowedClients validates database.allowed_clients: absent keeps the
// image's own rules; given (an empty list too), every entry must be an IPv4
// network that haup can write into pg_hba.conf as it is meant.
func (v *validator) allowedClients() {
	const key = "database.allowed_clients"
	if g, ok := v.givenAt(key); ok && g.null {
		v.add(key, "is null: write [] to let only the nodes connect, or remove the key to keep the image's own rules (any address may try a password)")
		return
	}
	if !v.has(key) {
		return
	}
	v.inv.Database.AllowedClientsGiven = true
	v.databaseAddressesByIP("database.allowed_clients")
	seen := map[netip.Prefix]int{}
	for i, c := range v.inv.Database.AllowedClients {
		p := fmt.Sprintf("%s[%d]", key, i)
		if v.underBad(p) {
			continue
		}
		pfx, why := clientNetwork(c)
		if why != "" {
			v.add(p, "%s", why)
			continue
		}
		if j, dup := seen[pfx]; dup {
			v.add(p, "%s repeats %s[%d] (line %d)", quote(c), key, j, v.lineOf(fmt.Sprintf("%s[%d]", key, j)))
			continue
		}
		seen[pfx] = i
		if pfx.Bits() == 0 {
			v.warn(p, "0.0.0.0/0 lets every IPv4 address try a password, as the image's own rules do (IPv6 clients are still refused)")
		}
	}
}

// databaseAddressesByIP refuses a node's or the witness's database_address
// written as a hostname when haup writes pg_hba.conf (for the field named
// by why): PostgreSQL matches a client by its address, a hostname would
// need reverse DNS at every connection, and haup writes the nodes' own.
func (v *validator) databaseAddressesByIP(why string) {
	byName := func(path, addr string) {
		if _, err := netip.ParseAddr(addr); addr != "" && err != nil && !v.underBad(path) {
			v.add(path, "%s is a hostname: with %s give an IPv4 address, which haup lets through PostgreSQL's rules", quote(addr), why)
		}
	}
	for i, n := range v.inv.Nodes {
		byName(fmt.Sprintf("nodes[%d].database_address", i), n.DatabaseAddress)
	}
	if v.inv.HasWitness() {
		byName("witness.database_address", v.inv.Witness.DatabaseAddress)
	}
}

// clientNetwork parses one database.allowed_clients entry, or says what is
// wrong with it.
func clientNetwork(c string) (netip.Prefix, string) {
	pfx, err := netip.ParsePrefix(c)
	if err != nil {
		if a, aerr := netip.ParseAddr(c); aerr == nil {
			if a.Is4() {
				return pfx, fmt.Sprintf("%s has no prefix length: write %s/32 for this one address", quote(c), c)
			}
			return pfx, fmt.Sprintf("%s is IPv6: haup's nodes, VIP and clients are IPv4 only, and every IPv6 client is refused", quote(c))
		}
		return pfx, fmt.Sprintf("%s is not a CIDR: give an IPv4 network as ADDRESS/LENGTH, e.g. 10.1.0.0/16 or 192.0.2.7/32", quote(c))
	}
	switch {
	case !pfx.Addr().Is4():
		return pfx, fmt.Sprintf("%s is IPv6: haup's nodes, VIP and clients are IPv4 only, and every IPv6 client is refused", quote(c))
	case pfx.Masked() != pfx:
		return pfx, fmt.Sprintf("%s has host bits set: write %s for the network, or %s/32 for the one address", quote(c), pfx.Masked(), pfx.Addr())
	}
	return pfx, ""
}

// TLSNames are what the database's certificate must name: the VIP, every
// node's and the witness's database_address, and 127.0.0.1, where the
// image's own scripts connect (with verify-full, as every client in the
// container does).
func (inv *Inventory) TLSNames() []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if p, err := netip.ParsePrefix(inv.Keepalived.VirtualIPAddress); err == nil {
		add(p.Addr().String())
	}
	for _, n := range inv.Nodes {
		add(n.DatabaseAddress)
	}
	if inv.HasWitness() {
		add(inv.Witness.DatabaseAddress)
	}
	add("127.0.0.1")
	return out
}

// tls validates database.tls: absent or null is off; given, either all three
// files (read and checked against each other, the cluster's addresses and
// the clock) or none (haup issues the certificate).
func (v *validator) tls() {
	const key = "database.tls"
	if !v.has(key) || v.underBad(key) || v.badWithin(key) {
		return
	}
	t := &v.inv.Database.TLS
	t.Enabled = true
	if t.Require && !v.inv.Database.AllowedClientsGiven {
		// haup writes pg_hba.conf for the hostssl rules.
		v.databaseAddressesByIP("database.tls.require")
	}
	if d := t.MinValidDays; d < 1 || d > 3650 {
		v.add(key+".min_valid_days", "%d is out of range: give a number of days from 1 to 3650", d)
	}
	files := []struct {
		name string
		path *string
		dst  *[]byte
	}{{"ca_file", &t.CAFile, &t.CA}, {"cert_file", &t.CertFile, &t.Cert}, {"key_file", &t.KeyFile, &t.Key}}
	var given, missing []string
	for _, f := range files {
		if v.has(key + "." + f.name) {
			given = append(given, f.name)
		} else {
			missing = append(missing, f.name)
		}
	}
	if len(given) == 0 {
		return // issued by haup
	}
	if len(missing) > 0 {
		v.add(key+"."+given[0], "%s given without %s: give ca_file, cert_file and key_file, or none of them for a certificate haup issues", strings.Join(given, " and "), strings.Join(missing, " and "))
		return
	}
	ok := true
	for _, f := range files {
		p := key + "." + f.name
		if *f.path == "" {
			v.add(p, "is empty: give a PEM file's path")
			ok = false
			continue
		}
		b, mode, err := readSecret(v.expand(*f.path))
		var nr notRegularError
		switch {
		case errors.As(err, &nr):
			v.add(p, "%s is %s, not a regular file: give a PEM file", *f.path, nr.what)
			ok = false
			continue
		case err != nil:
			v.add(p, "cannot read %s: %v", *f.path, err)
			ok = false
			continue
		}
		if f.name == "key_file" && mode.Perm()&0o077 != 0 {
			v.add(p, "%s is readable by others (mode %04o): a private key must be private; chmod 600 it", *f.path, mode.Perm())
			ok = false
		}
		*f.dst = b
	}
	if !ok {
		return
	}
	for _, pr := range tlsca.Check(t.CA, t.Cert, t.Key, v.inv.TLSNames(), time.Now(), time.Duration(t.MinValidDays)*24*time.Hour) {
		v.add(key+"."+pr.File+"_file", "%s %s", map[string]string{"ca": t.CAFile, "cert": t.CertFile, "key": t.KeyFile}[pr.File], pr.Msg)
	}
}
