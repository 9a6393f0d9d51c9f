// Package nodeprobe fills probe's types on the node: `haup-check facts`
// (Collect) and the agent's metrics (DatabaseFacts). It reads the node
// through healthcheck, the agent's implementation; haup, which only decodes
// the facts, imports probe and never this package.
package nodeprobe

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/probe"
)

// RecordLoaded hashes conf and records it as what keepalived loads now.
func RecordLoaded(conf string) error {
	b, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	rec, _ := json.Marshal(probe.Loaded{SHA256: hex.EncodeToString(sum[:]), At: time.Now().UTC()})
	return atomicfile.Write(probe.KeepalivedLoadedPath, append(rec, '\n'), 0o644)
}

// runOut runs a program and returns its trimmed stdout, or an error with its
// stderr.
func runOut(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return strings.TrimSpace(string(out)), fmt.Errorf("%s: %s", name, firstLine(msg))
	}
	return strings.TrimSpace(string(out)), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Collect gathers the facts req asks for on this node. It runs every probe
// concurrently and never fails as a whole: each part records its own error.
func Collect(ctx context.Context, req probe.Request) *probe.Facts {
	f := &probe.Facts{Version: probe.Version, At: time.Now().UTC(), UID: os.Getuid(), Arch: runtime.GOARCH,
		Files: map[string]probe.FileFact{}, Dirs: map[string]probe.FileFact{}}
	f.OSID, f.OSVersion = osRelease()
	_, aptErr := exec.LookPath("apt-get")
	_, sysErr := exec.LookPath("systemctl")
	f.HasApt, f.HasSystemd = aptErr == nil, sysErr == nil
	f.MissingTools = missingTools(probe.CheckTools)

	var wg sync.WaitGroup
	var mu sync.Mutex
	do := wg.Go
	// The three docker questions go out at once: each costs a CLI start.
	do(func() {
		v, err := runOut(ctx, "docker", "version", "--format", "{{.Server.Version}}")
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			f.DockerError = err.Error()
			return
		}
		f.Docker = v
	})
	if req.Image != "" {
		do(func() {
			id, err := runOut(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", req.Image)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				f.ImageID = id
			} else if !strings.Contains(err.Error(), "No such image") {
				f.ImageError = err.Error()
			}
		})
	}
	if req.Container != "" {
		do(func() {
			out, err := runOut(ctx, "docker", "container", "inspect", "--format",
				`{{json .Image}} {{json .Config.Image}} {{json .State.Status}} {{json .State.StartedAt}} {{json (index .Config.Labels "io.haup.spec")}} {{json .HostConfig.Tmpfs}} {{json .GraphDriver.Data.MergedDir}} {{json .State.Pid}}`, req.Container)
			var gate string
			if c, perr := parseContainer(out); err == nil && perr == nil && c.ImageFacts != nil && c.ImageFacts.Init == "haup-check" {
				// The start gate holds the start: its last word says why.
				logs, _ := runOut(ctx, "docker", "logs", "--tail", "20", req.Container)
				gate = LastStartGateLine(logs)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				c, perr := parseContainer(out)
				if perr != nil {
					f.ContainerError = perr.Error()
				} else {
					f.Container = c
					if c.ImageFacts != nil {
						c.ImageFacts.StartGate = gate
					}
				}
			case strings.Contains(err.Error(), "No such container") || strings.Contains(err.Error(), "No such object"):
			default:
				f.ContainerError = err.Error()
			}
		})
	}
	do(func() {
		ifc := readIface(ctx, req.Interface, req.VIP)
		mu.Lock()
		f.Iface = ifc
		mu.Unlock()
	})
	do(func() {
		k := readKeepalived(ctx)
		mu.Lock()
		f.Keepalived = k
		mu.Unlock()
	})
	do(func() {
		files := map[string]probe.FileFact{}
		for _, fr := range req.Files {
			files[fr.Path] = readFile(fr.Path, fr.Text)
		}
		dirs := map[string]probe.FileFact{}
		for _, d := range req.Dirs {
			dirs[d] = statPath(d)
		}
		mu.Lock()
		f.Files, f.Dirs = files, dirs
		mu.Unlock()
	})
	if req.Database {
		do(func() {
			db, dbErr, last, age, fence, diverged := readDatabase(ctx, nodeapi.ConfigPath)
			mu.Lock()
			f.Database, f.DatabaseError, f.LastCheck, f.LastCheckAgeS, f.Fence = db, dbErr, last, age, fence
			setKept(f, diverged)
			if g, gerr := healthcheck.LastGate(nodeapi.Config{}); gerr != nil {
				f.GateError = gerr.Error()
			} else {
				f.Gate = g
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	f.Lock = readLock()
	if op, err := readOperation(probe.OperationPath); err != nil {
		f.OperationError = err.Error()
	} else {
		f.Operation = op
	}
	if op, err := readOperation(probe.ApplyRecordPath); err != nil {
		f.ApplyError = err.Error()
	} else {
		f.Apply = op
	}
	if req.Staging != "" {
		if ents, err := os.ReadDir(req.Staging); err == nil {
			for _, e := range ents {
				f.Staging = append(f.Staging, filepath.Join(req.Staging, e.Name()))
			}
		}
	}
	// A file installed beside its path but not yet renamed over it (an
	// apply killed in between) may hold a secret: a leftover too.
	for _, fr := range req.Files {
		if _, err := os.Lstat(fr.Path + ".haup-new"); err == nil {
			f.Staging = append(f.Staging, fr.Path+".haup-new")
		}
	}
	return f
}

func parseContainer(out string) (*probe.Container, error) {
	dec := json.NewDecoder(strings.NewReader(out))
	var vals [5]string
	for i := range vals {
		var v *string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("docker inspect: unexpected output %q", out)
		}
		if v != nil {
			vals[i] = *v
		}
	}
	c := &probe.Container{ImageID: vals[0], Image: vals[1], Status: vals[2], StartedAt: vals[3], Spec: vals[4]}
	// The image's own facts: what /tmp is, and what repmgr was configured
	// with, read from the container's root filesystem on the host (no
	// process started in the container). Older outputs end here.
	var tmpfs map[string]string
	var merged *string
	var pid int
	if dec.Decode(&tmpfs) == nil && dec.Decode(&merged) == nil && dec.Decode(&pid) == nil {
		im := &probe.ImageFacts{}
		if pid > 0 {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil {
				im.Init = strings.TrimSpace(string(b))
			}
		}
		_, im.TmpInMemory = tmpfs["/tmp"]
		if merged != nil && *merged != "" {
			im.Repmgr, im.Error = readRepmgrConf(filepath.Join(*merged, ImageRepmgrConf))
		} else {
			im.Error = "the container's root filesystem is not visible to the host (storage driver)"
		}
		c.ImageFacts = im
	}
	return c, nil
}

// ImageRepmgrConf is repmgr's configuration in the bitnami image, which its
// entrypoint writes at every start.
const ImageRepmgrConf = "/opt/bitnami/repmgr/conf/repmgr.conf"

// ImageRepmgrSettings are the repmgr settings haup relies on.
var imageRepmgrSettings = []string{"degraded_monitoring_timeout", "primary_visibility_consensus", "use_replication_slots", "failover"}

// readRepmgrConf reads the settings haup relies on from repmgr.conf; a
// setting repeated takes its last value, as repmgr does.
func readRepmgrConf(path string) (map[string]string, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, ""
		}
		return nil, err.Error()
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		for _, want := range imageRepmgrSettings {
			if k == want {
				out[k] = strings.Trim(strings.TrimSpace(v), `'"`)
			}
		}
	}
	return out, ""
}

func osRelease() (id, version string) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", ""
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			version = v
		}
	}
	return id, version
}

func readIface(ctx context.Context, name, vip string) probe.Iface {
	var ifc probe.Iface
	if name == "" {
		return ifc
	}
	out, err := runOut(ctx, "ip", "-o", "-4", "addr", "show", "dev", name)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return ifc
		}
		ifc.Error = err.Error()
		return ifc
	}
	ifc.Found = true
	want, _ := netip.ParseAddr(vip)
	for _, l := range strings.Split(out, "\n") {
		fields := strings.Fields(l)
		for i, w := range fields {
			if w == "inet" && i+1 < len(fields) {
				ifc.Addrs = append(ifc.Addrs, fields[i+1])
				if p, err := netip.ParsePrefix(fields[i+1]); err == nil && want.IsValid() && p.Addr() == want {
					ifc.HoldsVIP = true
				}
			}
		}
	}
	return ifc
}

func readKeepalived(ctx context.Context) probe.Keepalived {
	var k probe.Keepalived
	var errs []string
	if out, err := runOut(ctx, "dpkg-query", "-W", "-f", "${Status} ${Version}", "keepalived"); err == nil {
		if v, ok := strings.CutPrefix(out, "install ok installed "); ok {
			k.Package = v
		}
	} else if !strings.Contains(err.Error(), "no packages found") {
		errs = append(errs, err.Error())
	}
	k.Version = keepalivedVersion(ctx)
	// is-active and is-enabled answer with a word and a non-zero exit for
	// every state but the good one: the word is the fact.
	act, _ := exec.CommandContext(ctx, "systemctl", "is-active", "keepalived").Output()
	k.Active = strings.TrimSpace(string(act))
	if k.Active == "" {
		errs = append(errs, "systemctl is-active keepalived gave no answer")
		k.Active = "unknown"
	}
	en, _ := exec.CommandContext(ctx, "systemctl", "is-enabled", "keepalived").Output()
	k.Enabled = strings.TrimSpace(string(en)) == "enabled"
	if pid, err := runOut(ctx, "systemctl", "show", "-p", "MainPID", "--value", "keepalived"); err == nil {
		k.PID, _ = strconv.Atoi(pid)
	}
	if b, err := os.ReadFile(nodeapi.VRRPStatePath); err == nil {
		fields := strings.Fields(string(b))
		if len(fields) > 0 {
			k.State = fields[0]
		}
		if len(fields) > 1 {
			if sec, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				k.StateSince = time.Unix(sec, 0).UTC()
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err.Error())
	}
	if b, err := os.ReadFile(probe.KeepalivedLoadedPath); err == nil {
		var l probe.Loaded
		if json.Unmarshal(b, &l) == nil {
			k.LoadedSHA256 = l.SHA256
		}
	}
	k.Error = strings.Join(errs, "; ")
	return k
}

// keepalivedVersion asks the keepalived binary its version; "" when there is
// none or it does not say. It prints "Keepalived v2.2.8 (04/04,2023), ..."
// on stderr (and exits 0 or 1, by version).
func keepalivedVersion(ctx context.Context) string {
	bin := findProgram("keepalived")
	if bin == "" {
		return ""
	}
	out, _ := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	return parseKeepalivedVersion(string(out))
}

// parseKeepalivedVersion reads the version from `keepalived --version`.
func parseKeepalivedVersion(out string) string {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.EqualFold(f[0], "keepalived") && strings.HasPrefix(f[1], "v") {
			return strings.TrimPrefix(f[1], "v")
		}
	}
	return ""
}

func statPath(p string) probe.FileFact {
	ff, _ := stat(p)
	return ff
}

// stat is statPath with the file's information, for callers that need more.
func stat(p string) (probe.FileFact, os.FileInfo) {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return probe.FileFact{}, nil
	}
	if err != nil {
		return probe.FileFact{Error: err.Error()}, nil
	}
	ff := probe.FileFact{Exists: true, Mode: st.Mode().Perm()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ff.UID, ff.GID = int(sys.Uid), int(sys.Gid)
	}
	return ff, st
}

func readFile(p string, text bool) probe.FileFact {
	ff, st := stat(p)
	if !ff.Exists || ff.Error != "" {
		return ff
	}
	// Large files (the agent itself, 7 MB) are hashed once per change: the
	// hash is kept with the file's inode, size and change time, which any
	// write moves (ctime cannot be set back by a user).
	key := ""
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && !text && st.Size() > 1<<20 {
		key = fmt.Sprintf("%s %d %d %d.%d", p, sys.Ino, st.Size(), sys.Ctim.Sec, sys.Ctim.Nsec)
		if b, err := os.ReadFile(hashCachePath); err == nil {
			if k, sum, ok := strings.Cut(strings.TrimSpace(string(b)), "\t"); ok && k == key && len(sum) == 64 {
				ff.SHA256 = sum
				return ff
			}
		}
	}
	fh, err := os.Open(p)
	if err != nil {
		ff.Error = err.Error()
		return ff
	}
	defer fh.Close()
	h := sha256.New()
	var content []byte
	var w io.Writer = h
	var buf strings.Builder
	if text {
		w = io.MultiWriter(h, &buf)
	}
	if _, err := io.Copy(w, fh); err != nil {
		ff.Error = err.Error()
		return ff
	}
	if text {
		content = []byte(buf.String())
	}
	ff.SHA256, ff.Content = hex.EncodeToString(h.Sum(nil)), content
	if key != "" {
		atomicfile.Write(hashCachePath, []byte(key+"\t"+ff.SHA256+"\n"), 0o600)
	}
	return ff
}

// hashCachePath keeps the hash of the one large file haup reads, the agent.
const hashCachePath = "/run/haup/agent-sha256"

// DatabaseFacts are the database's facts alone, read with the check's
// configuration at configPath as Collect reads them (Database,
// DatabaseError, LastCheck, LastCheckAgeS, Fence, Diverged): what the
// agent's metrics show.
func DatabaseFacts(ctx context.Context, configPath string) *probe.Facts {
	f := &probe.Facts{Version: probe.Version, At: time.Now().UTC()}
	var kept []probe.KeptCopy
	f.Database, f.DatabaseError, f.LastCheck, f.LastCheckAgeS, f.Fence, kept = readDatabase(ctx, configPath)
	setKept(f, kept)
	if g, err := healthcheck.LastGate(nodeapi.Config{}); err != nil {
		f.GateError = err.Error()
	} else {
		f.Gate = g
	}
	return f
}

// readDatabase asks the local database with the check configuration at
// configPath, and reads the check's last result and any fencing.
func readDatabase(ctx context.Context, configPath string) (*nodeapi.StatusReport, string, *nodeapi.Report, float64, *nodeapi.FenceRecord, []probe.KeptCopy) {
	cfg, pw, err := healthcheck.LoadConfig(configPath)
	statePath := nodeapi.StatePath
	if err == nil && cfg.StatePath != "" {
		statePath = cfg.StatePath
	}
	var last *nodeapi.Report
	var age float64
	if r := healthcheck.ReadState(statePath); r != nil && !r.At.IsZero() {
		last = r
		age = time.Since(r.At).Seconds()
	}
	if err != nil {
		return nil, err.Error(), last, age, nil, nil
	}
	fence, ferr := healthcheck.ReadFence(cfg.FencePath)
	if ferr != nil {
		fence = &nodeapi.FenceRecord{State: "fenced", Reason: "fence record unreadable: " + ferr.Error()}
	}
	diverged := KeptCopies(cfg.DataDir)
	// The node's own view: every node is probed, so asking the peers here
	// would only repeat their answers at the cost of a connection each.
	cfg.Peers = nil
	st := healthcheck.Status(ctx, cfg, pw, nodeapi.RepmgrDatabase)
	return &st, "", last, age, fence, diverged
}

func readLock() *probe.Lock {
	b, err := os.ReadFile(probe.LockPath)
	if err != nil {
		return nil
	}
	var l probe.Lock
	if json.Unmarshal(b, &l) != nil {
		return &probe.Lock{Holder: "unreadable lock file " + probe.LockPath}
	}
	return &l
}

// missingTools lists, sorted, the programs of tools found neither on PATH nor
// in the system directories (keepalived runs the check with systemd's PATH,
// which has them; an SSH session's PATH may not).
func missingTools(tools map[string]string) []string {
	var missing []string
	for name := range tools {
		if findProgram(name) == "" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	return missing
}

// findProgram is the path of an executable name on PATH or in the system
// directories, "" when there is none.
func findProgram(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		if st, err := os.Stat(dir + "/" + name); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return dir + "/" + name
		}
	}
	return ""
}

// KeptCopies lists the data directories kept aside beside dataDir (by
// fencings and rejoins: DATA_DIR.diverged-*) and in it (by the container's
// start gate: DATA_DIR/diverged-*, with their records).
func KeptCopies(dataDir string) []probe.KeptCopy {
	if dataDir == "" {
		return nil
	}
	var out []probe.KeptCopy
	old, _ := filepath.Glob(filepath.Clean(dataDir) + ".diverged-*")
	for _, d := range old {
		out = append(out, probe.KeptCopy{Path: d})
	}
	dirs, _ := filepath.Glob(filepath.Join(dataDir, nodeapi.DivergedPrefix+"*"))
	for _, d := range dirs {
		var rec nodeapi.KeptRecord
		b, err := os.ReadFile(filepath.Join(d, nodeapi.KeptRecordFile))
		if err == nil {
			err = json.Unmarshal(b, &rec)
		}
		if err != nil {
			out = append(out, probe.KeptCopy{Path: d, Reason: "no readable record: " + err.Error()})
			continue
		}
		desc := fmt.Sprintf("%d MiB, kept %s by the start gate: %s", rec.SizeBytes>>20, rec.At.Format("2006-01-02 15:04:05Z"), rec.Reason)
		if rec.ForkLSN != "" {
			desc += fmt.Sprintf("; timeline %d from %s to at least %s", rec.Timeline, rec.ForkLSN, rec.EndLSN)
		}
		if rec.CommitsFrom != "" {
			desc += "; " + keptCommits(rec)
		}
		out = append(out, probe.KeptCopy{Path: d, SizeBytes: rec.SizeBytes, At: rec.At, Reason: desc, Commits: rec.CommitCount, CommitsComplete: rec.CommitsComplete})
	}
	return out
}

// keptCommits says what a kept record lists of the transactions committed
// past the fork: how many, the first and last (id and time), and whether
// the count is whole (the WAL from the fork was there) or a least.
func keptCommits(rec nodeapi.KeptRecord) string {
	if rec.CommitCount == 0 {
		if rec.CommitsComplete {
			return "no transaction committed past the fork"
		}
		return "no transaction committed since " + rec.CommitsFrom + " (the WAL from the fork to there was recycled)"
	}
	s := fmt.Sprintf("%d transactions committed past the fork", rec.CommitCount)
	if !rec.CommitsComplete {
		s = fmt.Sprintf("at least %d transactions committed past the fork (counted from %s; the WAL before was recycled)", rec.CommitCount, rec.CommitsFrom)
	}
	if n := len(rec.Commits); n > 0 {
		first, last := rec.Commits[0], rec.Commits[n-1]
		s += fmt.Sprintf(", xid %d at %s to xid %d at %s", first.XID, first.Time, last.XID, last.Time)
		if n < rec.CommitCount {
			s += fmt.Sprintf(" (the latest %d listed in %s)", n, nodeapi.KeptRecordFile)
		} else {
			s += " (listed in " + nodeapi.KeptRecordFile + ")"
		}
	}
	return s
}

// setKept records in f the kept copies, and their one-line descriptions.
func setKept(f *probe.Facts, kept []probe.KeptCopy) {
	f.Kept, f.Diverged = kept, nil
	for _, k := range kept {
		d := k.Path
		if k.Reason != "" {
			d += " (" + k.Reason + ")"
		}
		f.Diverged = append(f.Diverged, d)
	}
}

// LastStartGateLine is the last line of the container's log that the start
// gate wrote (healthcheck.StartGate), without its prefix.
func LastStartGateLine(logs string) string {
	const prefix = "haup start gate: "
	last := ""
	for _, l := range strings.Split(logs, "\n") {
		if i := strings.Index(l, prefix); i >= 0 {
			last = strings.TrimSpace(l[i+len(prefix):])
		}
	}
	return last
}

// readOperation reads the record; absent is nil without error.
func readOperation(path string) (*probe.Operation, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var op probe.Operation
	if err := json.Unmarshal(b, &op); err != nil || op.Kind == "" {
		return nil, fmt.Errorf("%s: unreadable operation record (%v): remove it once no haup run is under way", path, err)
	}
	return &op, nil
}
