package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

type validator struct {
	file     string
	root     *yamlNode
	inv      *Inventory
	problems []Problem
	warnings []string
}

// add records a problem at the YAML line of path (or of its nearest
// existing parent, for a missing field).
func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Line: v.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) warn(path, format string, args ...any) {
	p := Problem{File: v.file, Line: v.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)}
	v.warnings = append(v.warnings, p.String())
}

var pathPart = regexp.MustCompile(`^([a-z_]+)(?:\[(\d+)\])?$`)

// lineOf finds the line of a dotted path like nodes[1].ssh.port.
func (v *validator) lineOf(path string) int {
	n := v.root
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		m := pathPart.FindStringSubmatch(part)
		if m == nil || n.Kind != yamlMapping {
			return line
		}
		var next *yamlNode
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == m[1] {
				line = n.Content[i].Line
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return line
		}
		n = next
		if m[2] != "" {
			idx, _ := strconv.Atoi(m[2])
			if n.Kind != yamlSequence || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
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
}

func (v *validator) resolveSecrets() {
	v.resolve("keepalived.auth_pass", &v.inv.Keepalived.AuthPass)
	v.resolve("database.postgres_password", &v.inv.Database.PostgresPassword)
	v.resolve("database.repmgr_password", &v.inv.Database.RepmgrPassword)
}

func (v *validator) resolve(path string, s *Secret) {
	switch {
	case s.Env == "" && s.File == "":
		v.add(path, "missing: give {env: NAME} or {file: PATH}")
	case s.Env != "" && s.File != "":
		v.add(path, "give either env or file, not both")
	case s.Env != "":
		val, ok := os.LookupEnv(s.Env)
		if !ok || val == "" {
			v.add(path, "environment variable %s is not set", s.Env)
			return
		}
		s.value = val
	default:
		p := v.expand(s.File)
		b, err := os.ReadFile(p)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			v.add(path, "cannot read secret file %s: %v", s.File, err)
			return
		}
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			v.warn(path, "secret file %s is readable by others (mode %04o); chmod 600 it", s.File, st.Mode().Perm())
		}
		s.value = strings.TrimRight(string(b), "\r\n")
		if s.value == "" {
			v.add(path, "secret file %s is empty", s.File)
		}
	}
}

var (
	// nodeNameRe is what the image's repmgr contract accepts (a name ending in
	// -<number>, the number giving the node id) narrowed to a token that is
	// also safe as a hostname and inside keepalived.conf.
	nodeNameRe      = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?-([0-9]+)$`)
	containerNameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	interfaceRe     = regexp.MustCompile(`^[a-zA-Z0-9_.:@-]{1,15}$`)
	imageRe         = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`)
	envKeyRe        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// RepmgrNodeID is the id the image derives from the node name: its numeric
// suffix plus 1000.
func (n Node) RepmgrNodeID() int {
	m := nodeNameRe.FindStringSubmatch(n.Name)
	if m == nil {
		return 0
	}
	id, err := strconv.Atoi(m[2])
	if err != nil {
		return 0
	}
	return id + 1000
}

// reservedEnv are variables haup sets itself from the inventory.
func reservedEnv(k string) bool {
	return strings.HasPrefix(k, "REPMGR_") || strings.HasPrefix(k, "POSTGRESQL_PASSWORD") ||
		strings.HasPrefix(k, "POSTGRESQL_POSTGRES_PASSWORD") || k == "POSTGRESQL_PORT_NUMBER"
}

func (v *validator) validate() {
	inv := v.inv
	k := inv.Keepalived
	if len(inv.Nodes) < 2 {
		v.add("nodes", "need at least 2 nodes, got %d", len(inv.Nodes))
	}

	vip, vipErr := netip.ParsePrefix(k.VirtualIPAddress)
	switch {
	case k.VirtualIPAddress == "":
		v.add("keepalived.virtual_ipaddress", "missing: the VIP with its prefix length, e.g. 192.168.1.10/24")
	case vipErr != nil:
		if _, err := netip.ParseAddr(k.VirtualIPAddress); err == nil {
			v.add("keepalived.virtual_ipaddress", "%q has no prefix length (e.g. %s/24)", k.VirtualIPAddress, k.VirtualIPAddress)
		} else {
			v.add("keepalived.virtual_ipaddress", "%q is not an address with a prefix length", k.VirtualIPAddress)
		}
	case !vip.Addr().Is4():
		v.add("keepalived.virtual_ipaddress", "only IPv4 VIPs are supported, got %s", vip)
	case vip.Bits() < 8 || vip.Bits() > 30:
		v.add("keepalived.virtual_ipaddress", "prefix length /%d leaves no room for nodes and a VIP", vip.Bits())
	case vip.Addr() == vip.Masked().Addr():
		v.add("keepalived.virtual_ipaddress", "%s is the network address of its subnet", vip.Addr())
	case vip.Addr() == broadcast(vip):
		v.add("keepalived.virtual_ipaddress", "%s is the broadcast address of its subnet", vip.Addr())
	}
	if k.VirtualRouterID == 0 {
		v.add("keepalived.virtual_router_id", "missing: VRRP's router id, 1..255, unique on the network segment")
	} else if k.VirtualRouterID < 1 || k.VirtualRouterID > 255 {
		v.add("keepalived.virtual_router_id", "must be 1..255, got %d", k.VirtualRouterID)
	}
	if k.AdvertInt < 1 || k.AdvertInt > 255 {
		v.add("keepalived.advert_int", "must be 1..255 seconds, got %d", k.AdvertInt)
	}
	if p := k.AuthPass.Value(); p != "" {
		if len(p) > 8 {
			v.add("keepalived.auth_pass", "is %d characters; keepalived silently truncates it to 8", len(p))
		}
		if strings.ContainsAny(p, " \t\"'#!\\") {
			v.add("keepalived.auth_pass", "contains a space, quote, #, ! or backslash, which keepalived.conf cannot hold")
		}
	}
	c := k.Check
	if c.Interval < 1 {
		v.add("keepalived.check.interval", "must be at least 1 second, got %d", c.Interval)
	}
	if c.Timeout < 1 {
		v.add("keepalived.check.timeout", "must be at least 1 second, got %d", c.Timeout)
	} else if c.Interval >= 1 && c.Timeout >= c.Interval {
		v.add("keepalived.check.timeout", "must be below the interval (%d s), so a slow check never overlaps the next one", c.Interval)
	}
	if c.Fall < 1 {
		v.add("keepalived.check.fall", "must be at least 1, got %d", c.Fall)
	}
	if c.Rise < 1 {
		v.add("keepalived.check.rise", "must be at least 1, got %d", c.Rise)
	}

	db := inv.Database
	switch {
	case db.Image == "":
		v.add("database.image", "missing: the database image, e.g. wjy2020/timescaledb-repmgr:pg14.15-ts2.17.2")
	case !imageRe.MatchString(db.Image):
		v.add("database.image", "%q is not a valid image reference", db.Image)
	}
	if !containerNameRe.MatchString(db.ContainerName) {
		v.add("database.container_name", "%q is not a valid container name", db.ContainerName)
	}
	if !filepath.IsAbs(db.DataDir) || filepath.Clean(db.DataDir) == "/" || strings.ContainsAny(db.DataDir, ": \n") {
		v.add("database.data_dir", "must be an absolute directory other than / without spaces or colons, got %q", db.DataDir)
	}
	if db.Port < 1 || db.Port > 65535 {
		v.add("database.port", "must be 1..65535, got %d", db.Port)
	}
	for _, s := range []struct {
		path string
		v    string
	}{{"database.postgres_password", db.PostgresPassword.Value()}, {"database.repmgr_password", db.RepmgrPassword.Value()}} {
		if strings.ContainsAny(s.v, "\n\r") {
			v.add(s.path, "must be one line")
		}
	}
	r := db.Repmgr
	for _, f := range []struct {
		path string
		v    int
	}{{"database.repmgr.reconnect_attempts", r.ReconnectAttempts}, {"database.repmgr.reconnect_interval", r.ReconnectInterval}, {"database.repmgr.connect_timeout", r.ConnectTimeout}} {
		if f.v < 1 {
			v.add(f.path, "must be at least 1, got %d", f.v)
		}
	}
	for key, val := range db.Environment {
		path := "database.environment." + key
		switch {
		case !envKeyRe.MatchString(key):
			v.add("database.environment", "%q is not a valid environment variable name", key)
		case reservedEnv(key):
			v.add(path, "is set by haup from the inventory; set the matching inventory field instead")
		case strings.ContainsAny(val, "\n\r"):
			v.add(path, "must be one line")
		}
	}

	if inv.SSH.Port < 1 || inv.SSH.Port > 65535 {
		v.add("ssh.port", "must be 1..65535, got %d", inv.SSH.Port)
	}
	if len(inv.SSH.IdentityFiles) == 0 && !inv.SSH.Agent {
		v.add("ssh", "no way to log in: give identity_files or agent: true")
	}

	seen := map[string]map[string]int{"name": {}, "address": {}, "unicast_src_ip": {}, "ssh": {}, "id": {}}
	dup := func(kind, val string, i int, path, what string) {
		if j, ok := seen[kind][val]; ok {
			v.add(path, "%s %s is also used by nodes[%d]", what, val, j)
			return
		}
		seen[kind][val] = i
	}
	primaryFound := false
	for i, n := range inv.Nodes {
		p := fmt.Sprintf("nodes[%d]", i)
		switch {
		case n.Name == "":
			v.add(p+".name", "missing")
		case !nodeNameRe.MatchString(n.Name):
			v.add(p+".name", "%q must be lowercase letters, digits, dots or dashes ending in -<number> (the image's repmgr derives the node id from it), e.g. pg-0", n.Name)
		default:
			dup("name", n.Name, i, p+".name", "name")
			dup("id", strconv.Itoa(n.RepmgrNodeID()), i, p+".name", "repmgr node id")
		}
		if n.Name == db.Primary {
			primaryFound = true
		}
		addr, err := netip.ParseAddr(n.Address)
		switch {
		case n.Address == "":
			v.add(p+".address", "missing")
		case err != nil || !addr.Is4():
			v.add(p+".address", "%q is not an IPv4 address", n.Address)
		default:
			dup("address", n.Address, i, p+".address", "address")
		}
		src, err := netip.ParseAddr(n.UnicastSrcIP)
		srcPath := p + ".unicast_src_ip"
		if v.inv.Nodes[i].UnicastSrcIP == n.Address {
			srcPath = p + ".address"
		}
		if err == nil && n.Address != "" {
			if n.UnicastSrcIP != n.Address {
				dup("unicast_src_ip", n.UnicastSrcIP, i, srcPath, "unicast_src_ip")
			}
			if vipErr == nil {
				if !vip.Masked().Contains(src) {
					v.add(srcPath, "%s is outside the VIP's subnet %s", src, vip.Masked())
				}
				if src == vip.Addr() {
					v.add(srcPath, "%s is the VIP itself", src)
				}
			}
		} else if n.UnicastSrcIP != "" && n.UnicastSrcIP != n.Address {
			v.add(srcPath, "%q is not an IPv4 address", n.UnicastSrcIP)
		}
		switch {
		case n.Interface == "":
			v.add(p+".interface", "missing: set it here or keepalived.interface")
		case !interfaceRe.MatchString(n.Interface):
			v.add(p+".interface", "%q is not a valid interface name (at most 15 characters, no spaces)", n.Interface)
		}
		if n.Priority < 1 || n.Priority > 254 {
			v.add(p+".priority", "must be 1..254, got %d", n.Priority)
		}
		if n.SSH.Port < 1 || n.SSH.Port > 65535 {
			v.add(p+".ssh.port", "must be 1..65535, got %d", n.SSH.Port)
		}
		if n.SSH.Address != "" && (n.SSH.Address != n.Address || n.SSH.Port != inv.SSH.Port) {
			dup("ssh", n.SSH.Address+":"+strconv.Itoa(n.SSH.Port), i, p+".address", "ssh endpoint")
		}
	}
	if db.Primary != "" && !primaryFound && len(inv.Nodes) > 0 {
		v.add("database.primary", "names no node: %q", db.Primary)
	}
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
