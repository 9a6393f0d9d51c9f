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
