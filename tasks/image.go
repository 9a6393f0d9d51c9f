package tasks

import (
	"context"
	"fmt"

	"github.com/haup-project/haup/remote"
)

// imageChanges pulls the image only when the node lacks it: a present image is
// never pulled again, so a re-apply costs no registry round trip.
func imageChanges(image string, f *Facts) []Change {
	if f.ImageID != "" {
		return nil
	}
	return []Change{{
		Op: OpCreate, Kind: "image", Name: image, Summary: "pull",
		stage: stageHost,
		watch: watchPull(image),
		do: func(ctx context.Context, h remote.Host) error {
			if _, err := h.Exec(ctx, pullScript(image)); err != nil {
				return fmt.Errorf("pull %s: %w", image, err)
			}
			return nil
		},
	}}
}
