package tasks

// imageChanges pulls the image only when the node lacks it: a present image is
// never pulled again, so a re-apply costs no registry round trip.
func imageChanges(image string, f *Facts) []Change {
	if f.ImageID != "" {
		return nil
	}
	return []Change{{
		Op: OpCreate, Kind: KindImage, Name: image, Summary: "pull",
		stage: StageHost,
		task:  PullImage{image},
	}}
}
