package healthcheck

import (
	"context"
	"testing"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
)

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
	missed := &agent.Repmgrd{Running: true, UpstreamLastSeenS: 3, WALReceiver: "streaming"}

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
		got, err := AwaitPromotion(ctx, s.config(), testPassword, &agent.Repmgrd{Running: true, UpstreamLastSeenS: 0, WALReceiver: "streaming"})
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

// Unsettled: a peer that answered (if only to refuse), or was not waited
// for as last seen on an older timeline, is settled; one that was simply
// not heard from in the time given is not.
func TestUnsettled(t *testing.T) {
	r := nodeapi.Report{Peers: []nodeapi.PeerReport{
		{Name: "up", Role: nodeapi.RoleStandby, Seen: true},
		{Name: "refused", Role: nodeapi.RoleDown, Error: "connection refused", Seen: true},
		{Name: "older", Role: nodeapi.RoleDown, Error: "no answer within 50ms (last seen on timeline 1, older than ours)", Older: true},
		{Name: "slow", Role: nodeapi.RoleDown, Error: "timed out"},
	}}
	if got := r.Unsettled(); len(got) != 1 || got[0] != "slow" {
		t.Errorf("unsettled: %v", got)
	}
}
