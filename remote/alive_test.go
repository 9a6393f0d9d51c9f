package remote

import (
	"context"
	"testing"
	"time"
)

// TestAlive: a live connection answers the keepalive (OpenSSH refuses the
// request, which proves the connection works); a closed one does not.
func TestAlive(t *testing.T) {
	s := startSSHD(t)
	h := dial(t, s.config(t, "root"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Alive(ctx); err != nil {
		t.Fatalf("live connection: %v", err)
	}
	if st := h.Stats(); st.Sessions != 0 {
		t.Errorf("a keepalive opened %d sessions", st.Sessions)
	}
	h.client.Conn.Close()
	if err := h.Alive(ctx); err == nil {
		t.Error("a closed connection is alive")
	}
}
