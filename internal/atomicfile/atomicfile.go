// Package atomicfile replaces files whole: a reader (keepalived, the
// health check, haup status) sees the old content or the new, never a part.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with b, readable with mode. It writes a temporary
// file in path's directory (created 0755 when missing) and renames it over
// path; on an error the temporary file is removed and path is untouched.
// It does not fsync: the files haup replaces are state that the next run
// writes again, and a check bounded by keepalived's timeout must not wait
// on a busy disk.
func Write(path string, b []byte, mode os.FileMode) error {
	return write(path, b, mode, nil)
}

// WriteOwned is Write with the file given to uid:gid before it takes
// path's place (a file the database's user must read).
func WriteOwned(path string, b []byte, mode os.FileMode, uid, gid int) error {
	return write(path, b, mode, func(f *os.File) error { return f.Chown(uid, gid) })
}

func write(path string, b []byte, mode os.FileMode, prepare func(*os.File) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, base+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(b); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; the mode is set as asked, umask
	// aside.
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if prepare != nil {
		if err := prepare(f); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
