package healthcheck

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/haup-project/haup/nodeapi"
)

// TestClosePortIsIdempotent: closing inserts each rule once (IPv4 and
// IPv6), whatever the retries, and records the fence first; opening
// removes the rules and the record.
func TestClosePortIsIdempotent(t *testing.T) {
	t.Parallel()
	rules := map[string]bool{}
	var inserted []string
	// iptables and ip6tables are run at the same time (eachFirewall).
	var mu sync.Mutex
	sys := fakeSystem{firewall: func(_ context.Context, cmd string, args ...string) error {
		mu.Lock()
		defer mu.Unlock()
		op, rule := args[1], cmd+" "+strings.Join(args[2:], " ")
		switch op {
		case "-C":
			if !rules[rule] {
				return errRuleAbsent
			}
		case "-I":
			rules[rule] = true
			inserted = append(inserted, rule)
		case "-D":
			delete(rules, rule)
		}
		return nil
	}}
	cfg := nodeapi.Config{Port: 5432, PortFencePath: filepath.Join(t.TempDir(), "port-closed.json")}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := ClosePort(ctx, sys, cfg, "stale"); err != nil {
			t.Fatal(err)
		}
	}
	if len(inserted) != 4 || len(rules) != 4 {
		t.Errorf("inserted %d rules, %d in force, want 4 and 4: %q", len(inserted), len(rules), inserted)
	}
	for _, want := range []string{"iptables INPUT ! -i lo -p tcp --dport 5432", "-j REJECT --reject-with tcp-reset", "ip6tables OUTPUT ! -o lo -p tcp --sport 5432", "-j DROP"} {
		if !strings.Contains(strings.Join(inserted, "\n"), want) {
			t.Errorf("no rule with %q in %q", want, inserted)
		}
	}
	if pf := PortClosed(cfg); pf == nil || pf.Port != 5432 || pf.Reason != "stale" {
		t.Errorf("record: %+v", pf)
	}
	// Status carries the closed port, even with the database down (a
	// frozen node's), so `haup status` can name it.
	down := cfg
	down.Host, down.Port, down.DeadlineMillis = "127.0.0.1", freePort(t), 300
	down.FencePath = filepath.Join(t.TempDir(), "fence.json")
	if st := Status(ctx, down, "x", "repmgr"); st.Role != nodeapi.RoleDown || st.PortClosed == nil || st.PortClosed.Reason != "stale" {
		t.Errorf("status with the port closed and the database down: role %s, port %+v", st.Role, st.PortClosed)
	}
	if err := OpenPort(ctx, sys, cfg); err != nil {
		t.Fatal(err)
	}
	if len(rules) != 0 || PortClosed(cfg) != nil {
		t.Errorf("after opening: %d rules, record %+v", len(rules), PortClosed(cfg))
	}
}

// TestPortFenceFailsClosed: a firewall that cannot say whether a rule is
// there (its lock not had, a module missing) leaves the port closed and
// its record in place.
func TestPortFenceFailsClosed(t *testing.T) {
	t.Parallel()
	sys := fakeSystem{firewall: func(context.Context, string, ...string) error { return nil }}
	cfg := nodeapi.Config{Port: 5432, PortFencePath: filepath.Join(t.TempDir(), "port-closed.json")}
	ctx := context.Background()
	if err := ClosePort(ctx, sys, cfg, "stale"); err != nil {
		t.Fatal(err)
	}
	sys.firewall = func(_ context.Context, cmd string, args ...string) error {
		return errors.New("another app is currently holding the xtables lock")
	}
	if err := OpenPort(ctx, sys, cfg); err == nil {
		t.Error("opened with the firewall failing")
	}
	if PortClosed(cfg) == nil {
		t.Error("the record went while the rules may still be there")
	}
}

// TestFenceFrozenOrder: the frozen-primary fence records the fencing and
// the closed port, starts the rejoin without waiting, then closes the
// port; a rejoin that cannot start is an error, and the port is closed all
// the same. A second run keeps the first record.
func TestFenceFrozenOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := nodeapi.Config{Node: "pg-0", Port: 5432, FencePath: filepath.Join(dir, "fence.json"), PortFencePath: filepath.Join(dir, "port-closed.json")}
	var mu sync.Mutex
	var ran []string
	sys := fakeSystem{
		systemctl: func(_ context.Context, name string, args ...string) error {
			mu.Lock()
			defer mu.Unlock()
			if PortClosed(cfg) == nil {
				t.Error("the rejoin started before the port fence was recorded")
			}
			ran = append(ran, name+" "+strings.Join(args, " "))
			return errors.New("exit status 5: Unit haup-rejoin.service not found")
		},
		firewall: func(_ context.Context, cmd string, args ...string) error {
			mu.Lock()
			defer mu.Unlock()
			if args[1] == "-C" {
				return errRuleAbsent
			}
			ran = append(ran, cmd+" "+args[1])
			return nil
		},
	}
	k := nodeapi.Known{Role: nodeapi.RolePrimary, Timeline: 3, LSN: "0/5000060"}
	err := FenceFrozen(context.Background(), sys, cfg, "frozen: peer pg-1 is primary on timeline 4", k, nodeapi.Stale{Peer: "pg-1", Timeline: 4})
	if err == nil || !strings.Contains(err.Error(), "start "+nodeapi.RejoinUnit+": exit status 5") {
		t.Errorf("error %v, want the rejoin's", err)
	}
	if len(ran) < 3 || ran[0] != "systemctl start --no-block "+nodeapi.RejoinUnit || !strings.HasSuffix(ran[1], " -I") {
		t.Errorf("ran %q: want the rejoin started, then the rules inserted", ran)
	}
	rec, rerr := ReadFence(cfg.FencePath)
	if rerr != nil || rec == nil || rec.Timeline != 3 || rec.LSN != "0/5000060" || rec.Peer != "pg-1" || rec.PeerTimeline != 4 || rec.State != "fenced" {
		t.Fatalf("fence record %+v, %v", rec, rerr)
	}
	first := rec.At
	FenceFrozen(context.Background(), sys, cfg, "again", k, nodeapi.Stale{Peer: "pg-1", Timeline: 4})
	if rec, _ := ReadFence(cfg.FencePath); rec == nil || !rec.At.Equal(first) || rec.Reason == "again" {
		t.Errorf("a second fence replaced the record: %+v", rec)
	}
}
