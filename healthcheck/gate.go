package healthcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/nodeapi"
)

// gateDir is where the promotion gate's files are.
func gateDir(cfg nodeapi.Config) string { return orDefault(cfg.GateDir, nodeapi.GateDir) }

// WriteGate publishes the promotion gate's record (agent.Decision.Gate) for
// repmgrd's failover_validation_command and the container's start gate. It
// holds no secret: world-readable, so the image's postgres user reads it.
func WriteGate(cfg nodeapi.Config, g *agent.Gate) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	dir := gateDir(cfg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, nodeapi.GateFile), append(b, '\n'), 0o644)
}

// LastGate is the record this node's agent last published.
func LastGate(cfg nodeapi.Config) (*agent.Gate, error) {
	var g *agent.Gate
	err := readJSON(filepath.Join(gateDir(cfg), nodeapi.GateFile), &g)
	return g, err
}

// ReadGate reads the gate's record and an operator's override from dir;
// a missing file is nil, an unreadable one an error.
func ReadGate(dir string) (*agent.Gate, *agent.Override, error) {
	var g *agent.Gate
	var o *agent.Override
	if err := readJSON(filepath.Join(dir, nodeapi.GateFile), &g); err != nil {
		return nil, nil, err
	}
	if err := readJSON(filepath.Join(dir, nodeapi.OverrideFile), &o); err != nil {
		return g, nil, err
	}
	return g, o, nil
}

func readJSON[T any](path string, v **T) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var x T
	if err := json.Unmarshal(b, &x); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	*v = &x
	return nil
}

// GateVerdict is the promotion gate's answer, read from dir at now:
// repmgrd's failover_validation_command exits with it.
func GateVerdict(dir string, now time.Time) (bool, agent.Code, string) {
	g, o, err := ReadGate(dir)
	if err != nil {
		return false, agent.GateNoRecord, "promotion refused: the gate record cannot be read: " + err.Error()
	}
	return g.Allows(now, o)
}

// WriteOverride records an operator's acceptance of a promotion's loss
// until until (haup promote --accept-data-loss).
func WriteOverride(cfg nodeapi.Config, o agent.Override) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	dir := gateDir(cfg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, nodeapi.OverrideFile), append(b, '\n'), 0o644)
}

// RemoveOverride ends an override (the promotion happened, or was given up).
func RemoveOverride(cfg nodeapi.Config) error {
	err := os.Remove(filepath.Join(gateDir(cfg), nodeapi.OverrideFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
