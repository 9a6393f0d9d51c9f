package apply

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// lockTTL bounds how long a lock of a run that died elsewhere blocks others.
const lockTTL = 30 * time.Minute

// exitLocked is the exit code of the lock script when another run holds it.
const exitLocked = 75

// nodeLock is this run's claim on the nodes it changes, as k0sctl holds one
// on each host: two applies (or an apply and an operation) never interleave.
type nodeLock struct {
	lock probe.Lock
	json string
}

func newNodeLock(command string) (*nodeLock, error) {
	host, _ := os.Hostname()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	b := make([]byte, 8)
	rand.Read(b)
	now := time.Now().UTC()
	l := probe.Lock{Holder: fmt.Sprintf("%s@%s pid %d", who, host, os.Getpid()), Host: host, PID: os.Getpid(),
		Command: command, Since: now, Expires: now.Add(lockTTL), Nonce: hex.EncodeToString(b)}
	j, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return &nodeLock{lock: l, json: string(j)}, nil
}

// acquire takes the node's lock, replacing a stale one.
func (nl *nodeLock) acquire(ctx context.Context, h remote.Host) error {
	script := fmt.Sprintf("mkdir -p /run/haup && ( set -C; printf '%%s\\n' %s > %s ) 2>/dev/null || { cat %s; exit %d; }\n",
		shq(nl.json), probe.LockPath, probe.LockPath, exitLocked)
	for try := 0; try < 2; try++ {
		res, err := h.Exec(ctx, script)
		if err == nil {
			return nil
		}
		var ee *remote.ExitError
		if !errors.As(err, &ee) || ee.Code != exitLocked {
			return &remote.StepError{Host: h.Name(), Step: "lock", Err: err}
		}
		var held probe.Lock
		if json.Unmarshal(res.Stdout, &held) != nil {
			return fmt.Errorf("lock: %s holds an unreadable lock; remove it on the node if no haup runs", probe.LockPath)
		}
		if !held.Stale() {
			return fmt.Errorf("locked by %s (%s) since %s, until %s: another haup run is changing this node",
				held.Holder, held.Command, held.Since.Format(time.RFC3339), held.Expires.Format(time.RFC3339))
		}
		// The holder is gone: take its lock over, only if it is still that one.
		if _, err := h.Exec(ctx, fmt.Sprintf("grep -qF %s %s && rm -f %s\n", shq(held.Nonce), probe.LockPath, probe.LockPath)); err != nil {
			return &remote.StepError{Host: h.Name(), Step: "remove stale lock", Err: err}
		}
	}
	return fmt.Errorf("lock: could not take %s", probe.LockPath)
}

// release drops the lock if it is still this run's.
func (nl *nodeLock) release(ctx context.Context, h remote.Host) error {
	_, err := h.Exec(ctx, fmt.Sprintf("if grep -qF %s %s; then rm -f %s; fi\n", shq(nl.lock.Nonce), probe.LockPath, probe.LockPath))
	return err
}
