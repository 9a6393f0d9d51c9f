package tasks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/haup-project/haup/desired"
)

// containerChanges creates, recreates or starts a node's container (or,
// with witness, the witness's).
func containerChanges(spec desired.ContainerSpec, f *Facts, opts Options, witness bool) []Change {
	c := f.Container
	switch {
	case c == nil:
		return []Change{{
			Op: OpCreate, Kind: KindContainer, Name: spec.Name,
			Summary: fmt.Sprintf("create from %s%s, host network, data in %s", spec.Image, imageIDNote(f.ImageID), spec.Mounts[0].Source),
			Diff:    specDiff("", spec.Label(), spec.Name),
			stage:   StageContainer, task: RunContainer{Spec: spec},
		}}
	case c.Spec != spec.Label() || (f.ImageID != "" && c.ImageID != f.ImageID):
		r := &containerRule{allowPrimary: opts.AllowPrimaryRestart, witness: witness}
		ch := Change{
			Op: OpReplace, Kind: KindContainer, Name: spec.Name,
			stage: StageContainer, task: RunContainer{Spec: spec, Replace: true}, container: r,
		}
		if c.Spec != spec.Label() {
			r.what = "recreate: its settings changed"
			ch.Diff = specDiff(c.Spec, spec.Label(), spec.Name)
		} else {
			r.what = "recreate: the image " + spec.Image + " now has another ID (" + shortHash(c.ImageID) + " -> " + shortHash(f.ImageID) + ")"
		}
		if c.Running() && f.Role() != "standby" && !witness {
			r.risk = riskPrimary
			if f.Role() != "primary" {
				r.risk = riskMaybePrimary
			}
		}
		ch.compose()
		return []Change{ch}
	case !c.Running():
		return []Change{{
			Op: OpUpdate, Kind: KindContainer, Name: spec.Name,
			Summary: "start (it is " + c.Status + ")",
			stage:   StageContainer,
			task:    StartContainer{spec.Name},
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
