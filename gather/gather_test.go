package gather

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/haup-project/haup/internal/fixture"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// TestNodeUploadsProbeWhenAgentDiffers: a node without haup's agent (or
// with one of another facts version) gets the probe uploaded and run from
// staging; one whose agent answers in this version costs one round trip.
func TestNodeUploadsProbeWhenAgentDiffers(t *testing.T) {
	inv := fixture.Example(t)
	n := inv.Nodes[0]
	answer, _ := json.Marshal(probe.Facts{Version: probe.Version, Arch: "amd64"})
	h := remote.NewFake(n.Name).
		Expect("out=$("+nodeapi.BinaryPath+" facts", func(string) (remote.Result, error) {
			return remote.Result{Stdout: []byte("haup-uname x86_64\n")}, nil
		}).
		Expect("chmod 0700 "+remote.StagingRoot, func(string) (remote.Result, error) {
			return remote.Result{Stdout: answer}, nil
		})
	f, err := Node(context.Background(), h, inv, n, fixture.FakeCheck)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Verify(); err != nil {
		t.Fatal(err)
	}
	if f.Arch != "amd64" || len(h.Uploaded()) != 1 {
		t.Fatalf("arch %s, %d uploads", f.Arch, len(h.Uploaded()))
	}
	for _, b := range h.Uploaded() {
		if want, _ := fixture.FakeCheck("linux", "amd64"); string(b) != string(want) {
			t.Errorf("uploaded %q, want the amd64 agent", b)
		}
	}
	// An agent that answers in this version: one round trip, no upload.
	h2 := remote.NewFake(n.Name).Expect("facts", func(string) (remote.Result, error) {
		return remote.Result{Stdout: append([]byte("haup-uname x86_64\n"), answer...)}, nil
	})
	if _, err := Node(context.Background(), h2, inv, n, fixture.FakeCheck); err != nil || len(h2.Calls()) != 1 || len(h2.Uploaded()) != 0 {
		t.Fatalf("installed agent: %v, %d calls, %d uploads", err, len(h2.Calls()), len(h2.Uploaded()))
	}
}

func TestNodeRefusesOtherProbeVersion(t *testing.T) {
	inv := fixture.Example(t)
	n := inv.Nodes[0]
	h := remote.NewFake(n.Name).OnStdout("facts", `{"version": 1}`)
	if _, err := Node(context.Background(), h, inv, n, fixture.FakeCheck); err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("err = %v", err)
	}
}
