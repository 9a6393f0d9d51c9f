// Package gather reads a node's facts over SSH with haup's own probe: what
// to ask (Request, from the desired state: every file, directory, the image,
// the container, keepalived and the database haup manages) and the round
// trip that asks it (Node, Witness). The plan and `haup status` both start
// from these facts, so gathering sits below both: gather imports desired,
// inventory, nodeapi, probe, remote and internal/shellquote, and never
// tasks or status. What the facts mean is for its callers to judge.
package gather

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/shellquote"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
	"github.com/haup-project/haup/remote"
)

// Request asks for every resource haup manages on node.
func Request(inv *inventory.Inventory, node inventory.Node) probe.Request {
	req := probe.Request{
		Interface:      node.Interface,
		VIP:            desired.VIPAddr(inv),
		Image:          inv.Database.Image,
		Container:      inv.Database.ContainerName,
		KeepalivedConf: desired.KeepalivedConfPath,
		Staging:        remote.StagingRoot,
		Database:       true,
	}
	files, _ := desired.ManagedFiles(inv, node, nil)
	for _, f := range files {
		req.Files = append(req.Files, probe.FileRequest{Path: f.Path, Text: !f.Binary && !f.Sensitive})
	}
	// haup's pg_hba.conf, also when allowed_clients is absent: a file left
	// from before is removed.
	req.Files = append(req.Files, probe.FileRequest{Path: desired.HBAPath, Text: true})
	if !inv.Database.TLS.Enabled {
		// Read while TLS is turned off: the service file changes first.
		req.Files = append(req.Files, probe.FileRequest{Path: desired.ServicePath, Text: true})
	}
	for _, d := range desired.DirSpecs(inv) {
		req.Dirs = append(req.Dirs, d.Path)
	}
	return req
}

// archOf maps `uname -m` to GOARCH names.
var archOf = map[string]string{
	"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
	"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}

// Node reads the node's facts with haup's own probe: in one round trip
// when the node's installed agent answers in this haup's facts version
// (probe.Version), or else by uploading the probe built for the node's
// architecture and running it from the staging directory (a new node, or an
// agent of another version). An older agent of the same version only reads;
// the plan replaces it, since its hash differs.
func Node(ctx context.Context, h remote.Host, inv *inventory.Inventory, node inventory.Node, bins desired.CheckBinaries) (*probe.Facts, error) {
	return gather(ctx, h, Request(inv, node), bins)
}

// Witness reads the witness host's facts the same way.
func Witness(ctx context.Context, h remote.Host, inv *inventory.Inventory, bins desired.CheckBinaries) (*probe.Facts, error) {
	return gather(ctx, h, witnessRequest(inv), bins)
}

// witnessRequest asks for the witness's resources only.
func witnessRequest(inv *inventory.Inventory) probe.Request {
	req := probe.Request{Image: inv.Database.Image, Container: inv.Database.ContainerName, Staging: remote.StagingRoot}
	w := desired.WitnessState(inv, nil)
	for _, f := range w.Files {
		req.Files = append(req.Files, probe.FileRequest{Path: f.Path, Text: !f.Binary && !f.Sensitive})
	}
	for _, d := range w.Dirs {
		req.Dirs = append(req.Dirs, d.Path)
	}
	return req
}

func gather(ctx context.Context, h remote.Host, request probe.Request, bins desired.CheckBinaries) (*probe.Facts, error) {
	reqJSON, err := json.Marshal(request)
	if err != nil {
		return nil, err
	}
	req := shq(string(reqJSON))
	// The installed agent answers when it can; its facts are used only if
	// their format is this haup's (checked below). Hashing the agent here
	// would cost more than the whole probe.
	bin := shq(nodeapi.BinaryPath)
	script := "echo \"haup-uname $(uname -m)\"\n" +
		fmt.Sprintf("if [ -x %s ] && out=$(%s facts %s 2>/dev/null); then printf '%%s\\n' \"$out\"; fi\n", bin, bin, req)
	res, err := h.Exec(ctx, script)
	if err != nil {
		return nil, &remote.StepError{Host: h.Name(), Step: "gather facts", Err: err}
	}
	uname, answer, _ := strings.Cut(string(res.Stdout), "\n")
	uname = strings.TrimPrefix(strings.TrimSpace(uname), "haup-uname ")
	var f probe.Facts
	if json.Unmarshal([]byte(answer), &f) == nil && f.Version == probe.Version {
		return &f, nil
	}
	// No agent, or one of another version: upload this haup's probe.
	goarch := archOf[uname]
	if goarch == "" {
		goarch = uname
	}
	probeBin, err := bins("linux", goarch)
	if err != nil {
		return nil, fmt.Errorf("gather facts: no haup agent for %s: %w", uname, err)
	}
	staged, err := h.Put(ctx, probeBin)
	if err != nil {
		return nil, &remote.StepError{Host: h.Name(), Step: "upload probe", Err: err}
	}
	ownStaging := path.Dir(staged)
	st := shq(staged)
	res, err = h.Exec(ctx, fmt.Sprintf("chmod 0700 %s && %s facts %s; rc=$?; rm -f %s; exit $rc\n", st, st, req, st))
	if err != nil {
		return nil, &remote.StepError{Host: h.Name(), Step: "gather facts (uploaded probe)", Err: err}
	}
	f = probe.Facts{}
	if err := json.Unmarshal(res.Stdout, &f); err != nil {
		return nil, fmt.Errorf("gather facts: the probe's answer is not JSON: %v: %.200q", err, res.Stdout)
	}
	if f.Version != probe.Version {
		return nil, fmt.Errorf("gather facts: the probe answered version %d, haup needs %d", f.Version, probe.Version)
	}
	// This connection's own staging directory is in use, not a leftover.
	kept := f.Staging[:0]
	for _, s := range f.Staging {
		if s != ownStaging {
			kept = append(kept, s)
		}
	}
	f.Staging = kept
	return &f, nil
}

// shq quotes s for a POSIX shell.
var shq = shellquote.Quote
