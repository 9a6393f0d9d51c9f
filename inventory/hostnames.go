package inventory

import (
	"net/netip"
	"strconv"
	"strings"
)

// loopbackNames are the names that stand for the host itself: localhost
// and everything under it (RFC 6761, 6.3), and the aliases Debian's and
// Red Hat's /etc/hosts give the loopback addresses.
var loopbackNames = map[string]bool{
	"localhost":               true,
	"localhost.localdomain":   true,
	"localhost4":              true,
	"localhost4.localdomain4": true,
	"localhost6":              true,
	"localhost6.localdomain6": true,
	"ip6-localhost":           true,
	"ip6-loopback":            true,
}

// canonicalHost is a hostname as resolvers compare it: lowercase, without
// the trailing dot of a fully qualified name.
func canonicalHost(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// isLoopbackName tells whether the name s, by its literal form, resolves
// to a loopback address.
func isLoopbackName(s string) bool {
	h := canonicalHost(s)
	return loopbackNames[h] || strings.HasSuffix(h, ".localhost")
}

// inetAton parses s as inet_aton(3) does, the way glibc's resolver and
// libpq read a host that is not a dotted quad: one to four parts, each
// decimal, octal (leading 0) or hex (leading 0x), the last part filling
// the remaining bytes. "127.1" and "0x7f000001" are 127.0.0.1.
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base, digits := 10, p
		switch {
		case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		n, err := strconv.ParseUint(digits, base, 32)
		if p == "" || err != nil || strings.ContainsAny(digits, "+-_") {
			return netip.Addr{}, false
		}
		vals[i] = n
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
