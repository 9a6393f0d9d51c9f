package remote

import (
	"context"
	"fmt"
)

// Alive asks the node's SSH server for a keepalive answer, bounded by ctx:
// an error means the connection is lost (a long watch dials again). Any
// answer, even a refusal of the request, proves the connection works.
func (h *SSHHost) Alive(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		_, _, err := h.client.SendRequest("keepalive@openssh.com", true, nil)
		done <- err
	}()
	select {
	case <-ctx.Done():
		return fmt.Errorf("ssh keepalive: %w", ctx.Err())
	case err := <-done:
		if err != nil {
			return fmt.Errorf("ssh keepalive: %w", err)
		}
		return nil
	}
}
