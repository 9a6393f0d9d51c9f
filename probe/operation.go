package probe

import "time"

// OperationPath holds the record of the multi-step operation haup is
// carrying out with this node. haup writes it before each step and removes
// it when the operation has ended, so an operation killed half-way (haup
// killed, its machine or network lost) is seen by the next plan, which
// finishes or undoes it.
const OperationPath = "/var/lib/haup/operation.json"

// ApplyRecordPath holds the record of an apply (or a rejoin, or any plan
// haup carries out) under way on this node: written before its first
// change, brought up to date at each stage, removed at its end. A run killed
// half-way leaves it, and the next plan says so (the desired state's own
// changes finish it).
const ApplyRecordPath = "/var/lib/haup/apply.json"

// Operation is one multi-step operation in progress.
type Operation struct {
	// Kind is the operation: "switchover".
	Kind string `json:"kind"`
	// From and To are the switchover's old and new primary.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Step is the step about to be carried out (or under way).
	Step      string    `json:"step"`
	StartedAt time.Time `json:"started_at"`
	// StepAt is when Step began.
	StepAt time.Time `json:"step_at"`
	// By is the haup run: user@host pid N.
	By string `json:"by,omitempty"`
}

// The switchover's steps, in order.
const (
	StepPause   = "pause repmgrd's failover"
	StepDemote  = "refuse writes on the old primary"
	StepStop    = "stop the old primary's database"
	StepCatchUp = "wait until the new primary has all of the old one's WAL"
	StepPromote = "promote the new primary"
	StepVIP     = "wait for the VIP on the new primary"
	StepFollow  = "start the old primary as a standby"
)
