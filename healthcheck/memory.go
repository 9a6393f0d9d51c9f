package healthcheck

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/nodeapi"
)

func memoryPath(cfg nodeapi.Config) string { return cfg.MemoryFile() }

func orDefault(path, def string) string {
	if path != "" {
		return path
	}
	return def
}

// bootIDPath identifies the host's boot.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

// BootID is this boot's identifier ("" when it cannot be read: then a
// record is taken for this boot's).
func BootID() string {
	b, err := os.ReadFile(bootIDPath)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// LoadMemory reads the agent's memory record. A record that cannot be
// read comes back with Problem set (the check fails closed until it is
// repaired or removed). An absent record is built once from the files of
// earlier agents (migrated is then true: SaveMemory removes them once the
// record is written); with none of those either, the memory is empty.
func LoadMemory(cfg nodeapi.Config, boot string) (m agent.Memory, migrated bool) {
	b, err := os.ReadFile(memoryPath(cfg))
	switch {
	case err == nil:
		return agent.ParseMemory(b), false
	case !errors.Is(err, fs.ErrNotExist):
		return agent.Memory{Problem: err.Error()}, false
	}
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			migrated = true
			return b
		case errors.Is(err, fs.ErrNotExist):
			return nil
		}
		// Unreadable is not absent: the file's own rule applies.
		migrated = true
		return []byte{}
	}
	l := agent.Legacy{
		LastReport: read(orDefault(cfg.StatePath, nodeapi.StatePath)),
		PeerSeen:   read(orDefault(cfg.PeerSeenPath, nodeapi.PeerSeenPath)),
		Sync:       read(orDefault(cfg.SyncStatePath, SyncStatePath)),
		Isolation:  read(orDefault(cfg.IsolationPath, IsolationPath)),
	}
	return agent.Migrate(l, boot), migrated
}

// SaveMemory writes the record atomically when it differs from was (or
// migrated is set), then, after a migration, removes the files of earlier
// agents (not the last report: it is haup status's).
func SaveMemory(cfg nodeapi.Config, m, was agent.Memory, migrated bool) error {
	if !migrated && m.Equal(was) {
		if _, err := os.Stat(memoryPath(cfg)); err == nil {
			return nil
		}
	}
	if err := atomicfile.Write(memoryPath(cfg), m.Encode(), 0o600); err != nil {
		return err
	}
	if migrated {
		for _, p := range []string{orDefault(cfg.PeerSeenPath, nodeapi.PeerSeenPath), orDefault(cfg.SyncStatePath, SyncStatePath), orDefault(cfg.IsolationPath, IsolationPath)} {
			os.Remove(p)
		}
	}
	return nil
}
