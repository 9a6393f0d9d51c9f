package inventory

import (
	// go-digest verifies only the hash functions linked in: SHA-256, and
	// SHA-384 and SHA-512.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// checkImageRef says what is wrong with an image reference, or "" when it
// is valid. The grammar is Docker's (distribution/reference, go-digest);
// each part is parsed alone so the answer names the part that is wrong.
// It requires a tag or a digest: an implicit :latest can name a different
// image on each node.
func checkImageRef(ref string) string {
	name, dig, hasDigest := strings.Cut(ref, "@")
	tag, hasTag := "", false
	if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.Contains(name[i+1:], "/") {
		name, tag, hasTag = name[:i], name[i+1:], true
	}
	if name == "" {
		return "no name"
	}
	if _, err := reference.Parse(name); err != nil {
		switch {
		case errors.Is(err, reference.ErrNameTooLong):
			return "the name is longer than 255 bytes"
		case errors.Is(err, reference.ErrNameContainsUppercase):
			return "repository names must be lowercase"
		}
		return "the name must be lowercase letters and digits, separated by '.', '_', '__', '-' or '/', optionally after a registry host[:port]/"
	}
	if hasTag {
		if _, err := reference.Parse(name + ":" + tag); err != nil {
			return "the tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
		}
	}
	if hasDigest {
		if _, err := digest.Parse(dig); err != nil {
			return "the digest must be sha256: and 64 lowercase hex digits (or sha384/sha512)"
		}
	} else if !hasTag {
		return "no tag or digest (give name:tag or name@sha256:...); an implicit :latest can differ between nodes"
	}
	if _, err := reference.Parse(ref); err != nil {
		return err.Error()
	}
	return ""
}
