package tasks

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/haup-project/haup/nodeapi"
)

// keptChanges: the data directories kept aside on a node (by fencings,
// rejoins and the container's start gate) may hold the only copy of
// acknowledged writes; haup removes them only when asked (--remove-kept),
// and then each is a change of its own. Only a directory where haup keeps
// copies is ever named: DATA_DIR.diverged-* or DATA_DIR/diverged-*.
func keptChanges(plan *Plan, opts Options) {
	if !opts.RemoveKept {
		return
	}
	dataDir := filepath.Clean(plan.Inventory.Database.DataDir)
	for _, np := range plan.Nodes {
		for _, k := range np.Facts.Kept {
			p := filepath.Clean(k.Path)
			if !strings.HasPrefix(p, dataDir+".diverged-") && !strings.HasPrefix(p, filepath.Join(dataDir, nodeapi.DivergedPrefix)) {
				continue
			}
			what := "removed (--remove-kept)"
			if k.SizeBytes > 0 {
				what += fmt.Sprintf(", %d MiB freed", k.SizeBytes>>20)
			}
			if k.Reason != "" {
				what += "; it was kept because: " + k.Reason
			}
			what += "; writes in it that the current primary lacks are gone for good"
			np.Changes = append(np.Changes, Change{Op: OpDelete, Kind: KindKeptData, Name: p, Summary: what,
				stage: StageService, task: ExecStep{"remove kept data " + p, "rm -rf -- " + shq(p) + "\n"}})
		}
	}
}

// keptNote is the plan's note on kept copies it does not remove.
func keptNote(plan *Plan) string {
	var parts []string
	for _, np := range plan.Nodes {
		n := 0
		for _, c := range np.Changes {
			if c.Kind == KindKeptData {
				n = -1
				break
			}
		}
		if n < 0 || len(np.Facts.Kept) == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", np.Node.Name, len(np.Facts.Kept)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "data kept aside (" + strings.Join(parts, ", ") + " copies; haup status lists them): they may hold writes the primary lacks, and stay until you remove them or re-run with --remove-kept"
}
