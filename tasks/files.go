package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/haup-project/haup/remote"
)

func dirChanges(d Dir, actual FileFact) []Change {
	var c Change
	switch {
	case !actual.Exists:
		c = Change{Op: OpCreate, Kind: "dir", Name: d.Path, Summary: fmt.Sprintf("mode %04o, owner %d:%d", d.Mode, d.UID, d.GID)}
	case d.ImageOwned || d.Shared:
		return nil
	case actual.Mode != d.Mode || actual.UID != d.UID || actual.GID != d.GID:
		c = Change{Op: OpUpdate, Kind: "dir", Name: d.Path, Summary: attrSummary(actual, d.Mode, d.UID, d.GID)}
	default:
		return nil
	}
	c.stage = stageHost
	c.do = func(ctx context.Context, h remote.Host) error {
		p := shq(d.Path)
		script := fmt.Sprintf("mkdir -p %s && chown %d:%d %s && chmod %04o %s\n", p, d.UID, d.GID, p, d.Mode, p)
		if _, err := h.Exec(ctx, script); err != nil {
			return fmt.Errorf("dir %s: %w", d.Path, err)
		}
		return nil
	}
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
	sum := sha256hex(f.Content)
	var c Change
	switch {
	case !actual.Exists:
		c = Change{Op: OpCreate, Kind: "file", Name: f.Path,
			Summary: fmt.Sprintf("mode %04o, owner %d:%d, %d bytes", f.Mode, f.UID, f.GID, len(f.Content))}
	case actual.SHA256 != sum:
		c = Change{Op: OpUpdate, Kind: "file", Name: f.Path, Summary: "content changed"}
		if actual.Mode != f.Mode || actual.UID != f.UID || actual.GID != f.GID {
			c.Summary += ", " + attrSummary(actual, f.Mode, f.UID, f.GID)
		}
	case actual.Mode != f.Mode || actual.UID != f.UID || actual.GID != f.GID:
		c = Change{Op: OpUpdate, Kind: "file", Name: f.Path, Summary: attrSummary(actual, f.Mode, f.UID, f.GID),
			stage: stageHost, do: chmodFile(f)}
		return []Change{c}
	default:
		return nil
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
	c.do = installFile(f)
	return []Change{c}
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func chmodFile(f File) func(context.Context, remote.Host) error {
	return func(ctx context.Context, h remote.Host) error {
		p := shq(f.Path)
		script := fmt.Sprintf("chown %d:%d %s && chmod %04o %s\n", f.UID, f.GID, p, f.Mode, p)
		if _, err := h.Exec(ctx, script); err != nil {
			return fmt.Errorf("file %s: %w", f.Path, err)
		}
		return nil
	}
}

// installFile uploads the file to the staging directory, validates it when the
// file has a validator, keeps the old version as PATH.haup-bak and replaces the
// live file atomically (rename in the same directory).
func installFile(f File) func(context.Context, remote.Host) error {
	return func(ctx context.Context, h remote.Host) error {
		staged, err := h.Put(ctx, f.Content)
		if err != nil {
			return fmt.Errorf("file %s: upload: %w", f.Path, err)
		}
		// One line: validate (exit 3 with the validator's words), keep the
		// old file, install beside it and rename over it.
		var b strings.Builder
		fmt.Fprintf(&b, "t=%s; p=%s; ", shq(staged), shq(f.Path))
		if f.Validate != "" {
			fmt.Fprintf(&b, "if ! out=$(%s 2>&1); then echo \"$out\" >&2; exit 3; fi; ", fmt.Sprintf(f.Validate, `"$t"`))
		}
		fmt.Fprintf(&b, "{ [ ! -f \"$p\" ] || cp -p \"$p\" \"$p.haup-bak\"; } && install -m %04o -o %d -g %d \"$t\" \"$p.haup-new\" && mv -f \"$p.haup-new\" \"$p\" && rm -f \"$t\"\n", f.Mode, f.UID, f.GID)
		if _, err := h.Exec(ctx, b.String()); err != nil {
			var ee *remote.ExitError
			if f.Validate != "" && asExit(err, &ee) && ee.Code == 3 {
				return fmt.Errorf("file %s: rejected by `%s`, the live file is unchanged: %s",
					f.Path, fmt.Sprintf(f.Validate, "FILE"), strings.TrimSpace(ee.Stderr))
			}
			return fmt.Errorf("file %s: %w", f.Path, err)
		}
		return nil
	}
}
