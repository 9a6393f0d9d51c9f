// Command haup-check tells keepalived whether this node may hold the VIP: it
// exits 0 only when the local database is the writable primary and no peer is
// a newer primary. Every other outcome exits 1 with one line saying why.
//
// keepalived runs it as a vrrp_script with no arguments. A person on the node
// can run it by hand with -v to see the role, timeline, peers and latency.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/haup-project/haup/healthcheck"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("haup-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", healthcheck.ConfigPath, "configuration file")
	verbose := fs.Bool("v", false, "print role, timeline, peers and latency")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	status := fs.String("status", "", "print a status report (check, replication, repmgr's view from this `repmgr-database`) as JSON and exit 0; for haup status")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, password, err := healthcheck.LoadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "haup-check: fail: %v\n", err)
		return 1
	}
	if *status != "" {
		json.NewEncoder(stdout).Encode(healthcheck.Status(context.Background(), cfg, password, *status))
		return 0
	}
	r := healthcheck.Run(context.Background(), cfg, password)
	// Only keepalived's own runs (no flags) are recorded, so `haup status`
	// shows what keepalived last saw, not a run by haup or a person. A state
	// file that cannot be written must not change the verdict.
	if !*asJSON && !*verbose {
		_ = healthcheck.WriteState(cfg.StatePath, r)
	}
	switch {
	case *asJSON:
		json.NewEncoder(stdout).Encode(r)
	case *verbose:
		fmt.Fprintf(stdout, "node:     %s\nrole:     %s\ntimeline: %d\nlsn:      %s\n", r.Node, r.Role, r.Timeline, r.LSN)
		for _, p := range r.Peers {
			view := fmt.Sprintf("%s timeline %d", p.Role, p.Timeline)
			if p.Error != "" {
				view = "unreachable: " + p.Error
			}
			fmt.Fprintf(stdout, "peer:     %s: %s (%.1f ms)\n", p.Name, view, p.MS)
		}
		fmt.Fprintf(stdout, "latency:  %.1f ms\n", r.LatencyMS)
	}
	if r.Pass {
		if *verbose {
			fmt.Fprintf(stdout, "pass: %s\n", r.Reason)
		}
		return 0
	}
	fmt.Fprintf(stderr, "haup-check: fail: %s\n", r.Reason)
	return 1
}
