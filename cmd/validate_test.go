package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestValidateInterrupted: SIGINT ends a validation blocked on a pipe.
func TestValidateInterrupted(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	start := time.Now()
	code, _, errOut := runHaup("validate", fifo)
	if code != ExitError || !strings.Contains(errOut, "haup: inventory: interrupted") || time.Since(start) > 5*time.Second {
		t.Errorf("exit %d after %v:\n%s", code, time.Since(start), errOut)
	}
	if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}
