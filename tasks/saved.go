package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// SavedPlan is a plan written by `haup diff -out FILE` and carried out by
// `haup apply FILE`: the inventory it came from, the fingerprint of every
// node's observed state and the plan's lines. It holds no secret (the lines
// are the printed plan's, with secrets masked; the fingerprints are hashes).
type SavedPlan struct {
	Version   int       `json:"version"`
	Created   time.Time `json:"created"`
	Inventory string    `json:"inventory"`
	// InventorySHA256 is the inventory file's hash. Secrets are not in it,
	// not even as a hash (a hash of a weak password can be guessed): a
	// secret changed between diff and apply is caught when it changes the
	// plan's lines.
	InventorySHA256 string            `json:"inventory_sha256"`
	Nodes           map[string]string `json:"nodes"` // node -> fingerprint of its facts
	Lines           []string          `json:"lines"` // the plan's change lines, in order
}

const savedPlanVersion = 1

// planned is the part of a node's facts a plan depends on: anything else
// (replication lag, timestamps, PIDs) may change between diff and apply
// without changing what apply would do.
type planned struct {
	Files     map[string]string `json:"files"`
	Dirs      map[string]string `json:"dirs"`
	Package   string            `json:"package"`
	Service   string            `json:"service"`
	Loaded    string            `json:"loaded"`
	Image     string            `json:"image"`
	Container string            `json:"container"`
	Role      string            `json:"role"`
	Timeline  int               `json:"timeline"`
	Streaming bool              `json:"streaming"`
	Fenced    bool              `json:"fenced"`
	Staging   []string          `json:"staging"`
	Arch      string            `json:"arch"`
	Iface     []string          `json:"iface"`
	DockerOK  bool              `json:"docker_ok"`
}

// Fingerprint hashes what a plan depends on in a node's facts.
func Fingerprint(f *Facts) string {
	p := planned{Files: map[string]string{}, Dirs: map[string]string{}, Package: f.Keepalived.Package,
		Service: fmt.Sprintf("%s/%v", f.Keepalived.Active, f.Keepalived.Enabled), Loaded: f.Keepalived.LoadedSHA256,
		Image: f.ImageID, Role: f.Role(), Fenced: f.Fence != nil, Staging: f.Staging, Arch: f.Arch,
		Iface: f.Iface.Addrs, DockerOK: f.Docker != "", Streaming: isStreaming(f)}
	for path, ff := range f.Files {
		p.Files[path] = fmt.Sprintf("%v %o %d:%d %s", ff.Exists, ff.Mode, ff.UID, ff.GID, ff.SHA256)
	}
	for path, ff := range f.Dirs {
		p.Dirs[path] = fmt.Sprintf("%v %o %d:%d", ff.Exists, ff.Mode, ff.UID, ff.GID)
	}
	if c := f.Container; c != nil {
		p.Container = c.ImageID + " " + c.Status + " " + c.Spec
	}
	if f.Database != nil {
		p.Timeline = f.Database.Timeline
	}
	sort.Strings(p.Iface)
	b, _ := json.Marshal(p) // maps marshal with sorted keys
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Lines are the plan's change lines, node by node, as printed.
func (p *Plan) Lines() []string {
	var out []string
	for _, n := range p.All() {
		for _, c := range n.Changes {
			out = append(out, n.Node.Name+": "+c.String())
		}
	}
	return out
}

// Save writes the plan to path (mode 0600).
func (p *Plan) Save(path, inventorySHA string) error {
	inv, err := filepath.Abs(p.Inventory.Path)
	if err != nil {
		return err
	}
	sp := SavedPlan{Version: savedPlanVersion, Created: time.Now().UTC(), Inventory: inv,
		InventorySHA256: inventorySHA, Nodes: map[string]string{}, Lines: p.Lines()}
	for _, n := range p.All() {
		sp.Nodes[n.Node.Name] = Fingerprint(n.Facts)
	}
	b, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// LoadSavedPlan reads a plan file.
func LoadSavedPlan(path string) (*SavedPlan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plan file: %w", err)
	}
	var sp SavedPlan
	if err := json.Unmarshal(b, &sp); err != nil || sp.Version != savedPlanVersion || sp.Nodes == nil {
		return nil, fmt.Errorf("plan file %s: not a haup plan (version %d): %v", path, sp.Version, err)
	}
	return &sp, nil
}

// Check refuses the fresh plan unless every node is in the state the saved
// plan saw and the plan is the same, naming what changed.
func (sp *SavedPlan) Check(p *Plan, inventorySHA string) error {
	var errs []error
	if inventorySHA != sp.InventorySHA256 {
		errs = append(errs, fmt.Errorf("the inventory (or a secret it references) changed since the plan was saved"))
	}
	for _, n := range p.All() {
		want, ok := sp.Nodes[n.Node.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: not in the saved plan", n.Node.Name))
		case want != Fingerprint(n.Facts):
			errs = append(errs, fmt.Errorf("%s: its state changed since the plan was saved", n.Node.Name))
		}
	}
	if len(errs) == 0 && strings.Join(p.Lines(), "\n") != strings.Join(sp.Lines, "\n") {
		errs = append(errs, errors.New("the plan differs from the saved one"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("the saved plan is stale, nothing was changed (run haup diff -out again):\n%w", err)
	}
	return nil
}
