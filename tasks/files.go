package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/haup-project/haup/desired"
)

func dirChanges(d desired.Dir, actual FileFact) []Change {
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
	c.stage = StageHost
	c.task = MakeDir{d}
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
func fileChanges(f desired.File, actual FileFact, secrets []string) []Change {
	sum := sha256hex(f.Content)
	c := Change{Op: OpUpdate, Kind: KindFile, Name: f.Path, stage: StageHost, task: InstallFile{f}}
	var what string
	switch {
	case !actual.Exists:
		c.Op = OpCreate
		what = fmt.Sprintf("mode %04o, owner %d:%d, %d bytes", f.Mode, f.UID, f.GID, len(f.Content))
	case actual.SHA256 != sum:
		what = "content changed"
		if actual.Mode != f.Mode || actual.UID != f.UID || actual.GID != f.GID {
			what += ", " + attrSummary(actual, f.Mode, f.UID, f.GID)
		}
	case actual.Mode != f.Mode || actual.UID != f.UID || actual.GID != f.GID:
		c.task = ChmodFile{f}
		return shapedFile(c, attrSummary(actual, f.Mode, f.UID, f.GID))
	default:
		return nil
	}
	what, c.Diff = contentSummary(what, f, actual, sum, secrets)
	return shapedFile(c, what)
}

// shapedFile is c, a file change that does what says, with its shape.
func shapedFile(c Change, what string) []Change {
	c.file = &fileRule{what: what}
	c.compose()
	return []Change{c}
}

// contentSummary is what, followed by what a file's new content does and
// how it differs (its hashes for a binary), and the diff to show, secrets
// masked.
func contentSummary(what string, f desired.File, actual FileFact, sum string, secrets []string) (string, string) {
	// What the change does: after the content's summary, for a binary
	// after its hashes.
	effect := ""
	if f.Effect != nil && actual.Exists {
		effect = f.Effect(actual.Content)
	}
	if effect != "" && !f.Binary {
		what += "; " + effect
	}
	diff := ""
	switch {
	case f.Sensitive:
		what += " (sensitive content not shown)"
	case f.Binary:
		what += fmt.Sprintf(", sha256 %s", sum[:12])
		if actual.Exists {
			what += fmt.Sprintf(" (was %s)", shortHash(actual.SHA256))
		}
		if effect != "" {
			what += "; " + effect
		}
	default:
		diff = maskedDiff(f.Path, actual.Content, f.Content, secrets)
		if diff == "" && actual.Exists {
			what += " (only sensitive values changed)"
		}
	}
	return what, diff
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
