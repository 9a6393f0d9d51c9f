package inventory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestImageReferences(t *testing.T) {
	sha := strings.Repeat("0123456789abcdef", 4)
	for _, c := range []struct {
		ref, why string
	}{
		{"pg:14", ""},
		{"wjy2020/timescaledb-repmgr:pg14.15-ts2.17.2", ""},
		{"registry.example:5000/team/pg-repmgr:14", ""},
		{"localhost/pg:14", ""},
		{"[fd00::1]:5000/pg:14", ""},
		{"Registry.Example/pg:14", ""},
		{"pg@sha256:" + sha, ""},
		{"pg:14@sha256:" + sha, ""},
		{"pg@sha384:" + sha + sha[:32], ""},
		{"pg@sha512:" + sha + sha, ""},
		{"pg@sha512:" + sha, "the digest must be"},
		{"a__b/c---d:TAG_1.x", ""},
		{"pg", "no tag or digest"},
		{"registry.example:5000/pg", "no tag or digest"},
		{"PG:14", "must be lowercase"},
		{"pg:", "the tag must be"},
		{"pg:.14", "the tag must be"},
		{"pg:" + strings.Repeat("x", 129), "the tag must be"},
		{"pg@sha256:" + sha[:63], "the digest must be"},
		{"pg@sha256:" + strings.ToUpper(sha), "the digest must be"},
		{"pg@md5:" + sha, "the digest must be"},
		{"pg:14@", "the digest must be"},
		{"pg:14@sha256:" + sha + "@sha256:" + sha, "the digest must be"},
		{":14", "no name"},
		{"pg-:14", "the name must be"},
		{"_pg:14", "the name must be"},
		{"team//pg:14", "the name must be"},
		{"pg 14", "the name must be"},
		{"-registry.example/pg:14", "the name must be"},
		{strings.Repeat("a", 256) + ":1", "longer than 255"},
	} {
		got := checkImageRef(c.ref)
		if c.why == "" && got != "" || c.why != "" && !strings.Contains(got, c.why) {
			t.Errorf("checkImageRef(%q) = %q, want %q", c.ref, got, c.why)
		}
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTooBigRefusedWithItsSize(t *testing.T) {
	p := writeFile(t, "big.yaml", make([]byte, MaxFileSize+1))
	_, err := Load(p)
	want := p + ": the file is 1048577 bytes (1.0 MiB); an inventory may be at most 1048576 bytes (1 MiB)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load = %v, want %q", err, want)
	}
}

func TestProblemListCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("nodes:\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "  - {name: Bad%d}\n", i)
	}
	_, err := Load(writeFile(t, "many.yaml", []byte(b.String())))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	lines := strings.Split(err.Error(), "\n")
	total := len(ve.Problems) + ve.Omitted
	if len(ve.Problems) != MaxProblems || len(lines) != MaxProblems+2 ||
		lines[len(lines)-1] != fmt.Sprintf("  ... and %d more problems", total-MaxProblems) ||
		lines[0] != fmt.Sprintf("invalid inventory (%d problems):", total) {
		t.Errorf("%d problems kept, %d omitted:\n%s", len(ve.Problems), ve.Omitted, err)
	}
	// The kept ones are the first in order, not the first found.
	if !strings.Contains(lines[1], "many.yaml:1: ") {
		t.Errorf("first problem is not the first line's: %s", lines[1])
	}
}

// TestProblemsInOneOrder: the same file always gives the same list (the
// environment map once made it vary).
func TestProblemsInOneOrder(t *testing.T) {
	var first string
	for i := 0; i < 20; i++ {
		_, err := Load("testdata/bad-many.yaml")
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("run %d differs:\n%s\nfirst:\n%s", i, err, first)
		}
	}
}

// TestLargeInputsLinear loads inventories just under the size limit, each
// of a shape that once cost quadratic time or a flood of problems.
func TestLargeInputsLinear(t *testing.T) {
	fill := func(head, item, tail string) []byte {
		n := (MaxFileSize - len(head) - len(tail) - 64) / len(item)
		return []byte(head + strings.Repeat(item, n) + tail)
	}
	keys := func(head, format string) []byte {
		var b strings.Builder
		b.WriteString(head)
		for i := 0; b.Len() < MaxFileSize-64; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return []byte(b.String())
	}
	for name, data := range map[string][]byte{
		"environment":    keys("database:\n  environment:\n", "    K%d: v\n"),
		"unknown keys":   keys("", "k%d: 1\n"),
		"duplicate keys": fill("database:\n  environment:\n", "    K: v\n", ""),
		"empty nodes":    fill("nodes:\n", "- {}\n", ""),
		"nodes":          keys("nodes:\n", "  - {name: pg-%d, address: 10.1.0.1}\n"),
		"flow list":      fill("ssh: {identity_files: [", "a,", "]}\n"),
		"long string":    fill("database: {image: \"", "x", "\"}\n"),
		"deep nesting":   fill("", "[", ""),
		"aliases":        fill("ssh: {identity_files: &a [x], known_hosts: y}\nnodes: [", "*a,", "]\n"),
	} {
		start := time.Now()
		_, err := Load(writeFile(t, "large.yaml", data))
		took := time.Since(start)
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("%s: %d bytes, %d problems in %v", name, len(data), len(ve.Problems)+ve.Omitted, took)
		// Each takes about a second on an idle machine; quadratic decoding
		// took minutes. The bound leaves room for a busy machine.
		if took > 20*time.Second {
			t.Errorf("%s: %d bytes took %v", name, len(data), took)
		}
	}
}

func TestLoadHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LoadContext(ctx, "../examples/two-node.yaml"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// A pipe nobody writes to blocks the read; the context still ends it.
	fifo := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := LoadContext(ctx, fifo)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("after %v: %v", time.Since(start), err)
	}
	// Unblock the abandoned read.
	if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
		f.Close()
	}
}

// TestSecretFileNotRegular: a secret naming a FIFO nobody writes to once
// blocked validate forever in open(2). Every kind of non-regular file is
// refused at once, with what it is.
func TestSecretFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for path, what := range map[string]string{
		fifo:        "a named pipe (FIFO)",
		sock:        "a socket",
		dir:         "a directory",
		"/dev/null": "a character device",
	} {
		start := time.Now()
		_, err := loadText(t, edit(t, "{file: secrets/pg}", "{file: "+path+"}"))
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: took %v", what, took)
		}
		want := fmt.Sprintf("inv.yaml:8: database.postgres_password: secret file %s is %s, not a regular file: give a file holding the secret", path, what)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load = %v, want %q", err, want)
		}
	}
}
