package healthcheck

import (
	"encoding/json"
	"os"
	"time"

	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/nodeapi"
)

// A switchover's handover (see agent.Decide's decideHandover): Demote
// records it, so that the demoted primary keeps the VIP at the lowest
// priority until its target takes it, and nobody holds no VIP in between.
// Follow (the old primary starting as a standby) and Undemote (the
// switchover undone) end it; past its Until it counts for nothing.

// beginHandover records a handover from now for nodeapi.HandoverFor.
func beginHandover(cfg nodeapi.Config, now time.Time) error {
	b, _ := json.Marshal(nodeapi.HandoverRecord{At: now.UTC(), Until: now.Add(nodeapi.HandoverFor).UTC()})
	return atomicfile.Write(cfg.HandoverFile(), append(b, '\n'), 0o644)
}

// endHandover removes the record; absent is ended.
func endHandover(cfg nodeapi.Config) error {
	if err := os.Remove(cfg.HandoverFile()); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// ReadHandover returns the recorded handover, or nil when none is
// recorded. An unreadable record is an error, which the check takes as
// none: a handover only ever keeps a demoted primary's VIP, so without it
// the node gives the VIP up, as it would without handovers.
func ReadHandover(cfg nodeapi.Config) (*nodeapi.HandoverRecord, error) {
	return readRecord[nodeapi.HandoverRecord](cfg.HandoverFile())
}
