package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

func dirChanges(d Dir, actual FileFact) []Change {
	var c Change
	switch {
	case !actual.Exists:
		c = Change{Op: OpCreate, Kind: KindDir, Name: d.Path, Summary: fmt.Sprintf("mode %04o, owner %d:%d", d.Mode, d.UID, d.GID)}
	case d.ImageOwned || d.Shared:
		return nil
	case actual.Mode != d.Mode || actual.UID != d.UID || actual.GID != d.GID:
		c = Change{Op: OpUpdate, Kind: KindDir, Name: d.Path, Summary: attrSummary(actual, d.Mode, d.UID, d.GID)}
	default:
		return nil
	}
	c.stage = stageHost
	c.op = makeDir{d}
	return []Change{c}
}

func attrSummary(actual FileFact, mode interface{ String() string }, uid, gid int) string {
	return fmt.Sprintf("mode/owner %04o %d:%d -> %04o %d:%d", actual.Mode, actual.UID, actual.GID, mode, uid, gid)
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileChanges compares a file by content hash, mode and owner.
func fileChanges(f File, actual FileFact, secrets []string) []Change {
	c, ok := fileChange(f, actual, secrets)
	if !ok {
		return nil
	}
	c.file = &fileRule{what: c.Summary}
	return []Change{c}
}

// fileChange is fileChanges' change, its Summary saying what changes in the
// file, if the file changes.
func fileChange(f File, actual FileFact, secrets []string) (Change, bool) {
	sum := sha256hex(f.Content)
	var c Change
	switch {
	case !actual.Exists:
		c = Change{Op: OpCreate, Kind: KindFile, Name: f.Path,
			Summary: fmt.Sprintf("mode %04o, owner %d:%d, %d bytes", f.Mode, f.UID, f.GID, len(f.Content))}
	case actual.SHA256 != sum:
		c = Change{Op: OpUpdate, Kind: KindFile, Name: f.Path, Summary: "content changed"}
		if actual.Mode != f.Mode || actual.UID != f.UID || actual.GID != f.GID {
			c.Summary += ", " + attrSummary(actual, f.Mode, f.UID, f.GID)
		}
	case actual.Mode != f.Mode || actual.UID != f.UID || actual.GID != f.GID:
		c = Change{Op: OpUpdate, Kind: KindFile, Name: f.Path, Summary: attrSummary(actual, f.Mode, f.UID, f.GID),
			stage: stageHost, op: chmodFile{f}}
		return c, true
	default:
		return Change{}, false
	}
	// What the change does: after the content's summary, for a binary
	// after its hashes.
	effect := ""
	if f.Effect != nil && actual.Exists {
		effect = f.Effect(actual.Content)
	}
	if effect != "" && !f.Binary {
		c.Summary += "; " + effect
	}
	switch {
	case f.Sensitive:
		c.Summary += " (sensitive content not shown)"
	case f.Binary:
		c.Summary += fmt.Sprintf(", sha256 %s", sum[:12])
		if actual.Exists {
			c.Summary += fmt.Sprintf(" (was %s)", shortHash(actual.SHA256))
		}
		if effect != "" {
			c.Summary += "; " + effect
		}
	default:
		c.Diff = maskedDiff(f.Path, actual.Content, f.Content, secrets)
		if c.Diff == "" && actual.Exists {
			c.Summary += " (only sensitive values changed)"
		}
	}
	c.stage = stageHost
	c.op = installFile{f}
	return c, true
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
