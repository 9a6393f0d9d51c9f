package tasks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
)

func containerChanges(spec ContainerSpec, f *Facts, opts Options) []Change {
	c := f.Container
	switch {
	case c == nil:
		return []Change{{
			Op: OpCreate, Kind: KindContainer, Name: spec.Name,
			Summary: fmt.Sprintf("create from %s%s, host network, data in %s", spec.Image, imageIDNote(f.ImageID), spec.Mounts[0].Source),
			Diff:    specDiff("", spec.Label(), spec.Name),
			stage:   stageContainer, op: runContainer{spec: spec},
		}}
	case c.Spec != spec.Label() || (f.ImageID != "" && c.ImageID != f.ImageID):
		ch := Change{
			Op: OpReplace, Kind: KindContainer, Name: spec.Name,
			stage: stageContainer, op: runContainer{spec: spec, replace: true},
		}
		if c.Spec != spec.Label() {
			ch.Summary = "recreate: its settings changed"
			ch.Diff = specDiff(c.Spec, spec.Label(), spec.Name)
		} else {
			ch.Summary = "recreate: the image " + spec.Image + " now has another ID (" + shortHash(c.ImageID) + " -> " + shortHash(f.ImageID) + ")"
		}
		if c.Running() && f.Role() != "standby" {
			what := "it runs the primary database"
			if f.Role() != "primary" {
				what = "it may run the primary database (its role could not be read)"
			}
			ch.Summary += "; " + what
			if !opts.AllowPrimaryRestart {
				ch.Blocked = what + ": recreating it stops the primary; pass --allow-primary-restart to do so"
			}
		}
		return []Change{ch}
	case !c.Running():
		return []Change{{
			Op: OpUpdate, Kind: KindContainer, Name: spec.Name,
			Summary: "start (it is " + c.Status + ")",
			stage:   stageContainer,
			op:      startContainer{spec.Name},
		}}
	}
	return nil
}

// specDiff shows a container's settings as indented JSON, one setting a line.
func specDiff(old, new, name string) string {
	pretty := func(s string) string {
		if s == "" {
			return ""
		}
		var b bytes.Buffer
		if json.Indent(&b, []byte(s), "", "  ") != nil {
			return s + "\n"
		}
		return b.String() + "\n"
	}
	return udiff.Unified("container "+name+" (on node)", "container "+name+" (haup)", pretty(old), pretty(new))
}

// imageIDNote names the local image ID a container will run, when the node
// has the image: the plan shows what runs, even for a tag that moved.
func imageIDNote(id string) string {
	if id == "" {
		return ""
	}
	return " (image " + shortHash(strings.TrimPrefix(id, "sha256:")) + ")"
}
