package inventory

import (
	"regexp"
	"strings"
)

// Docker's image reference grammar (github.com/distribution/reference):
//
//	reference := name [ ":" tag ] [ "@" digest ]
//	name      := [domain '/'] path-component ['/' path-component]*
var (
	imageNameRe = func() *regexp.Regexp {
		const (
			alnum     = `[a-z0-9]+`
			separator = `(?:[._]|__|[-]+)`
			component = alnum + `(?:` + separator + alnum + `)*`
			domainCmp = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
			host      = `(?:` + domainCmp + `(?:\.` + domainCmp + `)*|\[[a-fA-F0-9:]+\])`
			domain    = host + `(?::[0-9]+)?`
		)
		return regexp.MustCompile(`^(?:` + domain + `/)?` + component + `(?:/` + component + `)*$`)
	}()
	imageTagRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// digestHexLen are the digest algorithms Docker verifies and the length
	// of their lowercase hex encoding.
	digestHexLen = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}
	lowerHexRe   = regexp.MustCompile(`^[a-f0-9]+$`)
)

// maxImageNameLen is Docker's limit on the name part of a reference.
const maxImageNameLen = 255

// checkImageRef says what is wrong with an image reference, or "" when it
// is valid. It requires a tag or a digest: an implicit :latest can name a
// different image on each node.
func checkImageRef(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	tag, hasTag := "", false
	if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.Contains(name[i+1:], "/") {
		name, tag, hasTag = name[:i], name[i+1:], true
	}
	switch {
	case name == "":
		return "no name"
	case len(name) > maxImageNameLen:
		return "the name is longer than 255 bytes"
	case !imageNameRe.MatchString(name):
		if imageNameRe.MatchString(strings.ToLower(name)) {
			return "repository names must be lowercase"
		}
		return "the name must be lowercase letters and digits, separated by '.', '_', '__', '-' or '/', optionally after a registry host[:port]/"
	case hasTag && !imageTagRe.MatchString(tag):
		return "the tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
	case hasDigest:
		alg, hex, _ := strings.Cut(digest, ":")
		n, ok := digestHexLen[alg]
		if !ok || len(hex) != n || !lowerHexRe.MatchString(hex) {
			return "the digest must be sha256: and 64 lowercase hex digits (or sha384/sha512)"
		}
	case !hasTag:
		return "no tag or digest (give name:tag or name@sha256:...); an implicit :latest can differ between nodes"
	}
	return ""
}
