package apply

import (
	"context"
	"testing"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// TestReplaceHBAScript: the rules go into the running container and
// PostgreSQL reloads before the host's file is written, from an upload
// (never through the script); removing them reloads the image's own.
func TestReplaceHBAScript(t *testing.T) {
	for _, c := range []struct {
		name, host string
		content    []byte
	}{
		{"install", desired.HBAPath, []byte("host all all 10.2.0.0/16 md5\n")},
		{"remove", "", []byte("host     all              all       0.0.0.0/0    md5\n")}, // the image's own rules (tasks' TestAllowedClientsPlan)
	} {
		h := remote.NewFake("pg-0").On("", func(string) (remote.Result, error) { return remote.Result{}, nil })
		if err := run(context.Background(), h, tasks.ReplaceHBA{Container: "pg0", Content: c.content, HostPath: c.host}); err != nil {
			t.Fatal(err)
		}
		calls := h.Calls()
		if len(calls) != 1 {
			t.Fatalf("%s: %d scripts, want 1", c.name, len(calls))
		}
		for _, up := range h.Uploaded() {
			if string(up) != string(c.content) {
				t.Errorf("%s: uploaded %q", c.name, up)
			}
		}
		golden(t, "hba-"+c.name+"-script.sh", []byte(calls[0]))
	}
}
