package tasks

import (
	"regexp"
	"sort"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
)

const masked = "(sensitive)"

// authPassLine catches keepalived's auth_pass whatever its value, so an old
// secret that the inventory no longer knows is masked too.
var authPassLine = regexp.MustCompile(`(?m)^(\s*auth_pass\s+)\S.*$`)

// Mask hides every known secret value in s, longest first so that a secret
// containing another is hidden whole.
func Mask(s string, secrets []string) string {
	s = authPassLine.ReplaceAllString(s, "${1}"+masked)
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, v := range sorted {
		if v != "" {
			s = strings.ReplaceAll(s, v, masked)
		}
	}
	return s
}

// maskedDiff is the unified diff of two versions of a file with secrets
// masked on both sides; empty when they differ only in secrets.
func maskedDiff(path string, old, new []byte, secrets []string) string {
	o, n := Mask(string(old), secrets), Mask(string(new), secrets)
	if o == n {
		return ""
	}
	return udiff.Unified(path+" (on node)", path+" (haup)", o, n)
}
