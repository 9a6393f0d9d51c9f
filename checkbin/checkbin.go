// Package checkbin holds the haup-check programs embedded into haup, one per
// node architecture, so the operator's machine may differ from the nodes.
package checkbin

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed dist
var dist embed.FS

// EnvDir names a directory holding haup-check-<os>-<arch> programs that take
// precedence over the embedded ones (for development and custom builds).
const EnvDir = "HAUP_CHECK_DIR"

// Lookup returns the haup-check program for goos/goarch.
func Lookup(goos, goarch string) ([]byte, error) {
	name := fmt.Sprintf("haup-check-%s-%s", goos, goarch)
	if dir := os.Getenv(EnvDir); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return b, nil
		}
		return nil, fmt.Errorf("health check for %s/%s: %w", goos, goarch, err)
	}
	b, err := dist.ReadFile("dist/" + name)
	if err == nil {
		return b, nil
	}
	have := Available()
	hint := "this haup binary embeds none; build it with `make build`, which cross-compiles haup-check for linux/amd64 and linux/arm64"
	if len(have) > 0 {
		hint = "this haup binary embeds " + strings.Join(have, ", ") +
			fmt.Sprintf("; build one with `CGO_ENABLED=0 GOOS=%s GOARCH=%s go build -o DIR/%s ./cmd/haup-check` and set %s=DIR", goos, goarch, name, EnvDir)
	}
	return nil, fmt.Errorf("no health-check program for %s/%s nodes: %s", goos, goarch, hint)
}

// Available lists the embedded builds as os/arch.
func Available() []string {
	entries, _ := fs.ReadDir(dist, "dist")
	var out []string
	for _, e := range entries {
		if rest, ok := strings.CutPrefix(e.Name(), "haup-check-"); ok {
			out = append(out, strings.Replace(rest, "-", "/", 1))
		}
	}
	sort.Strings(out)
	return out
}
