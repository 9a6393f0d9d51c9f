package healthcheck

import (
	"context"
	"testing"
	"time"
)

func TestFailoverUnderWay(t *testing.T) {
	for _, c := range []struct {
		name string
		wal  string
		st   *RepmgrdState
		want bool
	}{
		{"streaming, repmgrd unknown", "streaming", nil, false},
		{"streaming, repmgrd reached its upstream 1 s ago", "streaming", &RepmgrdState{Running: true, UpstreamLastSeenS: 1}, false},
		{"streaming, repmgrd missed a pass", "streaming", &RepmgrdState{Running: true, UpstreamLastSeenS: FailoverAfterS}, true},
		{"streaming, repmgrd not running", "streaming", &RepmgrdState{Running: false, UpstreamLastSeenS: 9}, false},
		{"streaming, repmgrd never reached it", "streaming", &RepmgrdState{Running: true, UpstreamLastSeenS: -1}, false},
		{"no WAL receiver", "", nil, true},
		{"WAL receiver waiting", "waiting", &RepmgrdState{Running: true}, true},
		{"WAL receiver stopping", "stopping", nil, true},
	} {
		if got := FailoverUnderWay(c.wal, c.st); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// waitStreaming waits until s's WAL receiver streams.
func waitStreaming(t *testing.T, s *server) {
	t.Helper()
	cfg := s.config()
	for i := 0; i < 300; i++ {
		rows, err := query(context.Background(), cfg, testPassword, "postgres", "SELECT status FROM pg_stat_wal_receiver")
		if err == nil && len(rows) == 1 && rows[0][0] == "streaming" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the standby never streamed")
}

func TestAwaitPromotion(t *testing.T) {
	p := newPrimary(t, "")
	s := newStandby(t, p)
	waitStreaming(t, s)
	missed := &RepmgrdState{Running: true, UpstreamLastSeenS: 3}

	t.Run("a primary is promoted already", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		got, err := AwaitPromotion(ctx, p.config(), testPassword, nil)
		if !got || err != nil {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("a streaming standby with nothing under way is not watched", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		got, err := AwaitPromotion(ctx, s.config(), testPassword, &RepmgrdState{Running: true, UpstreamLastSeenS: 0})
		if got || err != nil || ctx.Err() != nil {
			t.Fatalf("got %v, %v; waited for the deadline: %v", got, err, ctx.Err() != nil)
		}
	})
	t.Run("a standby not promoted is watched until the deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		got, err := AwaitPromotion(ctx, s.config(), testPassword, missed)
		if got || err != nil || ctx.Err() == nil {
			t.Fatalf("got %v, %v; returned before the deadline: %v", got, err, ctx.Err() == nil)
		}
	})
	t.Run("a database that does not answer", func(t *testing.T) {
		cfg := s.config()
		cfg.Port = silent(t)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if got, err := AwaitPromotion(ctx, cfg, testPassword, missed); got || err == nil {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("a standby promoted while watched", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		go func() {
			time.Sleep(300 * time.Millisecond)
			s.exec("127.0.0.1", "SELECT pg_promote(false)")
		}()
		got, err := AwaitPromotion(ctx, s.config(), testPassword, missed)
		if !got || err != nil || ctx.Err() != nil {
			t.Fatalf("got %v, %v; deadline passed: %v", got, err, ctx.Err() != nil)
		}
	})
}

func TestUnansweredAfterMS(t *testing.T) {
	// RepmgrdStaleS is monitor_interval + connect_timeout + 2.
	for _, c := range []struct{ stale, want int }{{5, 2500}, {6, 3500}, {13, 10500}} {
		if got := UnansweredAfterMS(c.stale); got != c.want {
			t.Errorf("stale %d s: %d ms, want %d", c.stale, got, c.want)
		}
		if connect := c.stale - 3; UnansweredAfterMS(c.stale) < connect*1000+500 {
			t.Errorf("stale %d s: a ping bounded by connect_timeout %d s could be reset", c.stale, connect)
		}
	}
}

// Unsettled: a peer that answered (if only to refuse), or was not waited
// for as last seen on an older timeline, is settled; one that was simply
// not heard from in the time given is not.
func TestUnsettled(t *testing.T) {
	r := Report{Peers: []PeerReport{
		{Name: "up", Role: RoleStandby, seen: true},
		{Name: "refused", Role: RoleDown, Error: "connection refused", seen: true},
		{Name: "older", Role: RoleDown, Error: "no answer within 50ms (last seen on timeline 1, older than ours)", older: true},
		{Name: "slow", Role: RoleDown, Error: "timed out"},
	}}
	if got := r.Unsettled(); len(got) != 1 || got[0] != "slow" {
		t.Errorf("unsettled: %v", got)
	}
}
