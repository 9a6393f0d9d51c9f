package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"sync"
	"time"

	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// opRecord is the record of a multi-step operation on its nodes (see
// probe.OperationPath): written on every node involved before the first
// change, brought up to date on the node that carries out each step in the
// same script as the step, and removed from every node at the end.
type opRecord struct {
	op probe.Operation
	// path is where it is kept: probe.OperationPath, or for an apply
	// probe.ApplyRecordPath.
	path string
}

func newOpRecord(kind, from, to string) *opRecord {
	who := "haup"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	return &opRecord{op: probe.Operation{Kind: kind, From: from, To: to, StartedAt: now,
		By: fmt.Sprintf("%s@%s pid %d", who, host, os.Getpid())}, path: probe.OperationPath}
}

// script writes the record with step as the step under way (atomically:
// a killed write leaves the previous record).
func (r *opRecord) script(step string) string {
	r.op.Step, r.op.StepAt = step, time.Now().UTC()
	b, err := json.Marshal(r.op)
	if err != nil {
		panic(err) // strings and times only
	}
	p := r.path
	return fmt.Sprintf("mkdir -p %s && cat > %s.tmp <<'HAUP_RECORD'\n%s\nHAUP_RECORD\nmv -f %s.tmp %s\n",
		shq(path.Dir(p)), shq(p), b, shq(p), shq(p))
}

// begin writes the record on every host.
func (r *opRecord) begin(ctx context.Context, step string, hosts ...remote.Host) error {
	s := r.script(step)
	for _, h := range hosts {
		if _, err := h.Exec(ctx, s); err != nil {
			return &remote.StepError{Host: h.Name(), Step: "record the " + r.op.Kind, Err: err}
		}
	}
	return nil
}

// end removes the record from every host.
func (r *opRecord) end(ctx context.Context, hosts ...remote.Host) error {
	var errs []error
	for _, h := range hosts {
		if _, err := h.Exec(ctx, "rm -f "+shq(r.path)+"\n"); err != nil {
			errs = append(errs, &remote.StepError{Host: h.Name(), Step: "remove the " + r.op.Kind + "'s record", Err: err})
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// newApplyRecord is the record of an apply (kind: "apply", "rejoin"...).
func newApplyRecord(kind string) *opRecord {
	r := newOpRecord(kind, "", "")
	r.path = probe.ApplyRecordPath
	return r
}

// step brings the record up to date on every host, in parallel; a host
// that cannot be written to fails the apply before the step.
func (r *opRecord) step(ctx context.Context, step string, hosts []remote.Host) error {
	s := r.script(step)
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			if _, err := h.Exec(ctx, s); err != nil {
				errs[i] = &remote.StepError{Host: h.Name(), Step: "record the " + r.op.Kind, Err: err}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
