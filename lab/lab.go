// Package lab runs haup's local test clusters: Debian nodes with systemd,
// sshd and Docker as systemd-nspawn machines on a private bridge, with a
// package mirror and a container registry on the host side. The mechanics
// are lab.sh (embedded); this package finds its inputs and serves the mirror.
package lab

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed lab.sh
var script []byte

// RepoRoot finds the haup checkout above dir: the lab builds its database
// image from labimage/ and keeps its state in .lab/ there.
func RepoRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "labimage", "build.sh")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("the lab runs from a haup checkout (no labimage/build.sh above the current directory)")
		}
		d = parent
	}
}

// Run runs one lab command (up, down, status, power-off, ...) with its
// arguments, streaming its output.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("the lab needs root (network namespaces, systemd-nspawn): run it with sudo")
	}
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	repo, err := RepoRoot(cwd)
	if err != nil {
		// Outside a checkout, every command but up works on the lab that
		// is up, whose checkout up recorded.
		if args[0] == "up" {
			return err
		}
		b, rerr := os.ReadFile(repoRecord())
		if rerr != nil {
			return fmt.Errorf("%w, and no lab is up (%s)", err, repoRecord())
		}
		if repo, err = RepoRoot(strings.TrimSpace(string(b))); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "haup-lab-*.sh")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(script); err != nil {
		return err
	}
	f.Close()
	cmd := exec.CommandContext(ctx, "bash", append([]string{f.Name()}, args...)...)
	cmd.Env = append(os.Environ(), "HAUP_REPO="+repo, "HAUP_BIN="+self)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = stdout, stderr, os.Stdin
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("lab %s failed (exit %d)", args[0], ee.ExitCode())
		}
		return err
	}
	if args[0] == "up" {
		if err := os.MkdirAll(filepath.Dir(repoRecord()), 0o755); err == nil {
			os.WriteFile(repoRecord(), []byte(repo+"\n"), 0o644)
		}
	}
	return nil
}

// InventoryPath is the inventory of the lab that is up, or "" when no lab is.
func InventoryPath() string {
	b, err := os.ReadFile(repoRecord())
	if err != nil {
		return ""
	}
	dir := os.Getenv("HAUP_LAB_DIR")
	if dir == "" {
		dir = filepath.Join(strings.TrimSpace(string(b)), ".lab")
	}
	p := filepath.Join(dir, "inventory.yaml")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// repoRecord is where up records the checkout of the lab that is up.
func repoRecord() string {
	state := os.Getenv("HAUP_LAB_STATE")
	if state == "" {
		state = "/var/lib/haup-lab"
	}
	return filepath.Join(state, "repo")
}

// ServeMirror serves the package mirror directory over HTTP until ctx ends.
func ServeMirror(ctx context.Context, dir, addr string) error {
	if _, err := os.Stat(filepath.Join(dir, "Packages.gz")); err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
