package nodeprobe

import (
	"os"
	"path/filepath"
	"testing"
)

// TestContainerImageFacts: the container's /tmp and the repmgr settings
// haup relies on, read from the container's root filesystem as docker
// inspect names it; an older inspect output has none.
func TestContainerImageFacts(t *testing.T) {
	root := t.TempDir()
	conf := filepath.Join(root, ImageRepmgrConf)
	os.MkdirAll(filepath.Dir(conf), 0o755)
	os.WriteFile(conf, []byte("node_id=1000\ndegraded_monitoring_timeout='5'\nprimary_visibility_consensus=false\ndegraded_monitoring_timeout='-1'\nuse_replication_slots='0'\n"), 0o600)
	c, err := parseContainer(`"sha256:ab" "img:1" "running" "x" null {"/tmp":"rw"} "` + root + `" 1`)
	if err != nil || c.ImageFacts == nil {
		t.Fatalf("%v %+v", err, c)
	}
	im := c.ImageFacts
	if im.Init == "" {
		t.Errorf("PID 1's program not read: %+v", im)
	}
	if !im.TmpInMemory || im.Error != "" || im.Repmgr["degraded_monitoring_timeout"] != "-1" ||
		im.Repmgr["primary_visibility_consensus"] != "false" || im.Repmgr["use_replication_slots"] != "0" || len(im.Repmgr) != 3 {
		t.Errorf("facts = %+v", im)
	}
	c, _ = parseContainer(`"sha256:ab" "img:1" "running" "x" null null "` + t.TempDir() + `" 0`)
	if c.ImageFacts == nil || c.ImageFacts.TmpInMemory || c.ImageFacts.Repmgr != nil || c.ImageFacts.Error != "" {
		t.Errorf("no tmpfs, no repmgr.conf yet: %+v", c.ImageFacts)
	}
	if c, _ := parseContainer(`"sha256:ab" "img:1" "running" "x" null`); c.ImageFacts != nil {
		t.Errorf("an older output has image facts: %+v", c.ImageFacts)
	}
}
