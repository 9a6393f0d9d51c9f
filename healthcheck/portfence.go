package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/nodeapi"
)

// The port fence: a primary whose database does not answer (frozen, hung)
// while a peer answers as a primary on a newer timeline is stale, and its
// database cannot be told to refuse writes. When it thaws it would take the
// writes its clients sent meanwhile, and acknowledge them, until the check
// fenced it by SQL. So the check closes the database's port to everything
// but loopback, in both directions (new connections are reset, replies on
// open ones dropped: no acknowledgement leaves the node), records the fence
// and starts the rejoin, which stops the database and brings it back as a
// standby. The port opens again when the database answers as a standby, or
// when no fencing is in force any more.

func portFencePath(cfg nodeapi.Config) string {
	if cfg.PortFencePath != "" {
		return cfg.PortFencePath
	}
	return nodeapi.PortFencePath
}

// PortClosed returns the port fence in force, or nil.
func PortClosed(cfg nodeapi.Config) *nodeapi.PortFence {
	b, err := os.ReadFile(portFencePath(cfg))
	if err != nil {
		return nil
	}
	var pf nodeapi.PortFence
	if json.Unmarshal(b, &pf) != nil {
		// Unreadable: closed all the same (fail closed).
		return &nodeapi.PortFence{Port: cfg.Port, Reason: "record unreadable"}
	}
	return &pf
}

// Firewall runs iptables or ip6tables.
func (Host) Firewall(ctx context.Context, cmd string, args ...string) error {
	if _, err := exec.LookPath(cmd); err != nil {
		if cmd == "ip6tables" {
			return nil // no IPv6 firewall: nothing to close there
		}
		return err
	}
	out, err := exec.CommandContext(ctx, cmd, args...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && len(args) > 1 && args[1] == "-C" {
		return errRuleAbsent
	}
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", cmd, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// errRuleAbsent is iptables -C's answer for a rule that is not there (exit
// status 1); any other failure (the lock not had, a module missing) is an
// error, never taken for "absent".
var errRuleAbsent = errors.New("no such rule")

func ruleExists(ctx context.Context, sys System, fw string, rule []string) (bool, error) {
	err := sys.Firewall(ctx, fw, append([]string{"-w", "-C"}, rule...)...)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errRuleAbsent):
		return false, nil
	}
	return false, err
}

// portRules are the two rules of a closed port, as iptables arguments
// after the chain operation.
func portRules(port int) [][]string {
	p := strconv.Itoa(port)
	tag := []string{"-m", "comment", "--comment", "haup: stale primary, port " + p + " closed"}
	return [][]string{
		append([]string{"INPUT", "!", "-i", "lo", "-p", "tcp", "--dport", p}, append(tag, "-j", "REJECT", "--reject-with", "tcp-reset")...),
		append([]string{"OUTPUT", "!", "-o", "lo", "-p", "tcp", "--sport", p}, append(tag, "-j", "DROP")...),
	}
}

// ClosePort records the fence, then inserts the rules (IPv4 and IPv6 at
// once) through sys. The record comes first: a check killed half-way still
// counts the port as closed, and the next one completes it.
func ClosePort(ctx context.Context, sys System, cfg nodeapi.Config, reason string) error {
	at := time.Now().UTC()
	if pf := PortClosed(cfg); pf != nil && !pf.At.IsZero() {
		at = pf.At
	}
	b, _ := json.Marshal(nodeapi.PortFence{At: at, Port: cfg.Port, Reason: reason})
	if err := atomicfile.Write(portFencePath(cfg), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return eachFirewall(ctx, func(fw string) error {
		for _, r := range portRules(cfg.Port) {
			// -C first: a rule is inserted once, whatever the retries.
			if ok, err := ruleExists(ctx, sys, fw, r); err != nil || ok {
				if err != nil {
					return err
				}
				continue
			}
			if err := sys.Firewall(ctx, fw, append([]string{"-w", "-I"}, r...)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// OpenPort removes the rules through sys, then the record.
func OpenPort(ctx context.Context, sys System, cfg nodeapi.Config) error {
	pf := PortClosed(cfg)
	port := cfg.Port
	if pf != nil && pf.Port > 0 {
		port = pf.Port
	}
	err := eachFirewall(ctx, func(fw string) error {
		for _, r := range portRules(port) {
			// Every copy goes; the record goes only once none is left.
			for {
				ok, err := ruleExists(ctx, sys, fw, r)
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				if err := sys.Firewall(ctx, fw, append([]string{"-w", "-D"}, r...)...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := os.Remove(portFencePath(cfg)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// eachFirewall runs f for IPv4 and IPv6 at once. Both run to their end and
// both errors count: a family whose rules fail must not stop the other's.
func eachFirewall(ctx context.Context, f func(fw string) error) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, fw := range []string{"iptables", "ip6tables"} {
		wg.Go(func() {
			errs[i] = f(fw)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// FenceFrozen fences a stale primary whose database does not answer (the
// agent's frozen-primary rule): the fencing is recorded with reason and
// where the database last stood (k), the port closed and the rejoin
// started (it stops the database, keeps its data aside and brings it back
// as a standby). sys closes the port.
func FenceFrozen(ctx context.Context, sys System, cfg nodeapi.Config, reason string, k nodeapi.Known, st nodeapi.Stale) error {
	if cfg.FencePath == "" {
		return errors.New("no fence_path in the configuration")
	}
	if rec, err := ReadFence(cfg.FencePath); err != nil {
		return err
	} else if rec == nil {
		rec = &nodeapi.FenceRecord{At: time.Now().UTC(), Node: cfg.Node, Reason: reason, Timeline: k.Timeline, LSN: k.LSN,
			Peer: st.Peer, PeerTimeline: st.Timeline, State: "fenced"}
		if err := writeFence(cfg.FencePath, rec); err != nil {
			return fmt.Errorf("record fence: %w", err)
		}
	}
	// The port fence is recorded first (the next check completes it if
	// this one is cut short), the rejoin started next (it must not wait on
	// the firewall), then the rules.
	b, _ := json.Marshal(nodeapi.PortFence{At: time.Now().UTC(), Port: cfg.Port, Reason: reason})
	if PortClosed(cfg) == nil {
		if err := atomicfile.Write(portFencePath(cfg), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	var errs []error
	if err := startRejoin(ctx, sys); err != nil {
		errs = append(errs, err)
	}
	if err := ClosePort(ctx, sys, cfg, reason); err != nil {
		errs = append(errs, fmt.Errorf("close port %d: %w", cfg.Port, err))
	}
	return errors.Join(errs...)
}

// ReadState reads a check's report written by WriteState, or nil.
func ReadState(path string) *nodeapi.Report {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var r nodeapi.Report
	if json.Unmarshal(b, &r) != nil {
		return nil
	}
	return &r
}
