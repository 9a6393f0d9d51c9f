package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/internal/tlsca"
	"github.com/haup-project/haup/metrics"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe/nodeprobe"
)

// metricsEvery is how often keepalived's runs have the metrics file
// written: often enough for a 15 s scrape to see a failover within one
// or two, seldom enough that its queries cost nothing the check notices.
const metricsEvery = 5 * time.Second

// metricsLock keeps one writer at a time; its modification time is the
// last writer's start, which tells keepalived's runs when the next is due.
// It lies beside the check's report: /run/haup/metrics.lock on a node.
func metricsLock(cfg nodeapi.Config) string {
	state := cfg.StatePath
	if state == "" {
		state = nodeapi.StatePath
	}
	return filepath.Join(filepath.Dir(state), "metrics.lock")
}

// startMetrics starts a detached `haup-check metrics` when metrics are on
// and the last one started metricsEvery ago or more. It is started apart,
// as the stale VIP holder's fence is: the check's verdict, which
// keepalived waits for, never waits for the metrics' queries, and the
// budget the check's actions share stays theirs.
func (c *cycle) startMetrics() {
	if c.cfg.MetricsDir == "" {
		return
	}
	if st, err := os.Stat(metricsLock(c.cfg)); err == nil && time.Since(st.ModTime()) < metricsEvery-500*time.Millisecond {
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	cmd := exec.Command(self, "metrics", "-config", c.configPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cmd.Start() == nil {
		cmd.Process.Release()
	}
}

// writeMetrics writes the node's metrics file once: the database's facts
// as `haup status` reads them (the local database alone), keepalived's last
// run of the check, the VIP, the agent's version.
func writeMetrics(args []string, stdout, stderr io.Writer) int {
	c := newCommand("metrics", stderr)
	fs := c.flags
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: haup-check metrics [-config FILE]")
		return 2
	}
	cfg, _, ok := c.load()
	if !ok {
		return 1
	}
	if cfg.MetricsDir == "" {
		fmt.Fprintf(stderr, "haup-check: metrics: off (%s has no metrics_dir: the inventory's metrics.textfile_dir)\n", *c.config)
		return 1
	}
	lockPath := metricsLock(cfg)
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		fmt.Fprintf(stderr, "haup-check: metrics: %v\n", err)
		return 1
	}
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: metrics: %v\n", err)
		return 1
	}
	defer lock.Close()
	if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return 0 // another one is at work
	}
	now := time.Now()
	os.Chtimes(lockPath, now, now)
	ctx, cancel := context.WithTimeout(context.Background(), metricsEvery)
	defer cancel()
	v := metrics.View{
		Node:     cfg.Node,
		Facts:    nodeprobe.DatabaseFacts(ctx, *c.config),
		HoldsVIP: cfg.VIP != "" && healthcheck.HasLocalAddr(cfg.VIP),
		Agent:    healthcheck.AgentVersion(),
		At:       time.Now(),
	}
	if cfg.TLSRootCert != "" {
		// The database's certificate beside its CA (nodeapi.TLSDir).
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(cfg.TLSRootCert), nodeapi.TLSCertFile)); err == nil {
			if c, err := tlsca.ParseCert(b); err == nil {
				v.TLSNotAfter = &c.NotAfter
			}
		}
	}
	if err := metrics.WriteFile(cfg.MetricsDir, v); err != nil {
		fmt.Fprintf(stderr, "haup-check: metrics: %v\n", err)
		return 1
	}
	return 0
}
