package healthcheck

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
	"github.com/jackc/pgx/v5/pgconn"
)

// The start gate runs as the database container's entrypoint, before the
// image's own (bitnami's entrypoint.sh, then run.sh), at every start of the
// container: at boot by Docker's restart policy, by haup, by the rejoin
// unit. The image decides alone what a starting node's data becomes: a
// standby's is rewound or cloned again (`repmgr standby clone --force`
// deletes the directory), an old primary's too once it sees a newer
// primary, and a standby that finds no primary may start as one. So, before
// the image runs:
//   - data that may hold writes the current primary lacks (it was a
//     primary, or its WAL goes past the point where the primary's timeline
//     forked from it) is moved aside, never deleted, with a record of what
//     it holds past the fork; without the disk space for the clone that
//     follows, the database does not start;
//   - a primary on an older timeline than this node's data is not followed
//     (its clone would delete the newer writes): the gate waits until it is
//     gone;
//   - a standby's data the image would start as the primary (no primary
//     found) starts only if the promotion gate allows it.

// Container paths of the image (bitnami's postgresql-env.sh).
const (
	VolumeInContainer = "/bitnami/postgresql"
)

// imageBinDir is PostgreSQL's programs in the image; the start gate runs
// them from there (the tests, from their own installation).
const imageBinDir = "/opt/bitnami/postgresql/bin"

// commitRe matches a commit record of pg_waldump's output: the
// transaction, its position and the commit time.
var commitRe = regexp.MustCompile(`tx: +(\d+), lsn: ([0-9A-F]+/[0-9A-F]+), prev [0-9A-F]+/[0-9A-F]+, desc: COMMIT(?:_PREPARED \d+:)? (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+)`)

// ParseCommits reads pg_waldump's output for commit records past from
// (from itself included), keeping the latest max of them, and counts all.
func ParseCommits(r io.Reader, from uint64, max int) ([]nodeapi.KeptCommit, int) {
	var out []nodeapi.KeptCommit
	n := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := commitRe.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		if pos, ok := agent.ParseLSN(string(m[2])); !ok || pos < from {
			continue
		}
		xid, err := strconv.ParseUint(string(m[1]), 10, 64)
		if err != nil {
			continue
		}
		n++
		out = append(out, nodeapi.KeptCommit{XID: xid, LSN: string(m[2]), Time: string(m[3])})
		if len(out) > max {
			out = out[len(out)-max:]
		}
	}
	return out, n
}

// readCommits fills rec's commits from the data directory's WAL (with
// bin's pg_waldump): from the fork, or, when the WAL there was recycled,
// from the last checkpoint's redo (incomplete). Nothing when neither can be
// read.
func readCommits(ctx context.Context, bin, data string, c *Control, rec *nodeapi.KeptRecord) {
	if c == nil || rec.ForkLSN == "" {
		return
	}
	fork, ok := agent.ParseLSN(rec.ForkLSN)
	if !ok {
		return
	}
	for _, start := range []string{rec.ForkLSN, c.Redo} {
		if start == "" {
			continue
		}
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_waldump"), "--path", filepath.Join(data, "pg_wal"),
			"--timeline", strconv.Itoa(rec.Timeline), "--start", start, "--rmgr", "Transaction")
		out, err := cmd.StdoutPipe()
		if err != nil {
			return
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return
		}
		commits, n := ParseCommits(out, fork, nodeapi.MaxKeptCommits)
		cmd.Wait() // it ends with an error where the WAL ends
		if n == 0 && strings.Contains(stderr.String(), "could not find") {
			continue // the WAL at start is gone: try from the redo
		}
		rec.CommitsFrom, rec.CommitsComplete, rec.CommitCount, rec.Commits = start, start == rec.ForkLSN, n, commits
		return
	}
}

// Control is what pg_controldata says of a data directory.
type Control struct {
	State      string
	Timeline   int
	Checkpoint string
	MinRecov   string
	// Redo is where the last checkpoint's redo starts: the WAL from there
	// on is what a restart would replay.
	Redo string
}

// WasPrimary: the data directory was last a primary's (running or shut
// down), not a standby's.
func (c Control) WasPrimary() bool {
	return c.State == "in production" || c.State == "shut down" || c.State == "shutting down"
}

// ParseControl reads pg_controldata's output.
func ParseControl(out string) (Control, error) {
	var c Control
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Database cluster state":
			c.State = v
		case "Latest checkpoint's TimeLineID":
			c.Timeline, _ = strconv.Atoi(v)
		case "Latest checkpoint location":
			c.Checkpoint = v
		case "Minimum recovery ending location":
			c.MinRecov = v
		case "Latest checkpoint's REDO location":
			c.Redo = v
		}
	}
	if c.State == "" || c.Timeline == 0 {
		return c, errors.New("pg_controldata: no cluster state or timeline in its output")
	}
	return c, nil
}

// ForkPoint is where history (a timeline history file's text) left
// timeline tl; false when tl is not in it.
func ForkPoint(history string, tl int) (string, bool) {
	for _, line := range strings.Split(history, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == strconv.Itoa(tl) {
			return f[1], true
		}
	}
	return "", false
}

var walRecRe = regexp.MustCompile(`lsn: ([0-9A-F]+/[0-9A-F]+), prev`)

// LastRecord reads, from pg_waldump's output, where the last valid WAL
// record begins. A timeline's fork point is the end of the last record the
// new timeline took from it, so data whose last record begins at or past
// the fork holds writes the new timeline lacks.
func LastRecord(out string) (string, bool) {
	if m := walRecRe.FindAllStringSubmatch(out, -1); len(m) > 0 {
		return m[len(m)-1][1], true
	}
	return "", false
}

// startPeer is a partner's database as the start gate found it.
type startPeer struct {
	Host     string
	Primary  bool
	Timeline int
	LSN      string
	History  string
}

// StartGateEnv is what the start gate reads of the container's environment.
type StartGateEnv struct {
	Node, Self, PrimaryHost string
	Partners                []string
	Port                    int
	User, Password, DB      string
}

// StartGateEnvFrom reads the image's variables.
func StartGateEnvFrom(getenv func(string) string) (StartGateEnv, error) {
	e := StartGateEnv{Node: getenv("REPMGR_NODE_NAME"), Self: getenv("REPMGR_NODE_NETWORK_NAME"), PrimaryHost: getenv("REPMGR_PRIMARY_HOST"),
		User: or(getenv("REPMGR_USERNAME"), "repmgr"), DB: or(getenv("REPMGR_DATABASE"), "repmgr"), Port: 5432}
	if p := getenv("REPMGR_PRIMARY_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return e, fmt.Errorf("REPMGR_PRIMARY_PORT %q: %w", p, err)
		}
		e.Port = n
	}
	for _, p := range strings.Split(getenv("REPMGR_PARTNER_NODES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			e.Partners = append(e.Partners, p)
		}
	}
	e.Password = getenv("REPMGR_PASSWORD")
	if f := getenv("REPMGR_PASSWORD_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return e, fmt.Errorf("repmgr password: %w", err)
		}
		e.Password = strings.TrimRight(string(b), "\r\n")
	}
	return e, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// StartVerdict is what the start gate decides.
type StartVerdict struct {
	// Wait: do not start the database now (Reason); try again later.
	Wait bool
	// Keep: move the data directory aside first (Record says what it holds).
	Keep   bool
	Record nodeapi.KeptRecord
	Reason string
}

// DecideStart is the start gate's rule (pure): local is the data
// directory's control data (nil: no data directory), end where its WAL
// ends, peers the partners that answered, lock whether the image's primary
// lock is there, gate the promotion gate's verdict.
func DecideStart(env StartGateEnv, local *Control, end string, peers []startPeer, lock bool, gate func() (bool, string)) StartVerdict {
	if local == nil {
		return StartVerdict{Reason: "no data directory: the image initialises or clones it"}
	}
	var primaries []startPeer
	for _, p := range peers {
		if p.Primary {
			primaries = append(primaries, p)
		}
	}
	sort.Slice(primaries, func(i, j int) bool { return primaries[i].Timeline > primaries[j].Timeline })
	if len(primaries) == 0 {
		if !local.WasPrimary() && !lock && env.PrimaryHost == env.Self {
			// The image finds no primary, and this node is the one named
			// to start as primary: it would promote this standby's data.
			if ok, why := gate(); !ok {
				return StartVerdict{Wait: true, Reason: "no primary answers, and the image would start this standby's data as the primary: " + why}
			}
			return StartVerdict{Reason: "no primary answers; the promotion gate allows this standby to start as the primary"}
		}
		return StartVerdict{Reason: "no other primary answers: the image decides from this node's data"}
	}
	p := primaries[0]
	rec := nodeapi.KeptRecord{Node: env.Node, Timeline: local.Timeline, EndLSN: end, State: local.State, Primary: p.Host, PrimaryTL: p.Timeline}
	endPos, endOK := agent.ParseLSN(end)
	switch {
	case local.Timeline > p.Timeline:
		return StartVerdict{Wait: true, Reason: fmt.Sprintf("%s is a primary on timeline %d, older than this node's data (timeline %d): following it would delete the newer writes; waiting until it is fenced", p.Host, p.Timeline, local.Timeline)}
	case local.Timeline == p.Timeline:
		if !local.WasPrimary() {
			return StartVerdict{Reason: fmt.Sprintf("a standby of %s's timeline %d", p.Host, p.Timeline)}
		}
		rec.Reason = fmt.Sprintf("this node's data was a primary on timeline %d, which %s is primary on too", local.Timeline, p.Host)
		return StartVerdict{Keep: true, Record: rec, Reason: rec.Reason}
	}
	fork, ok := ForkPoint(p.History, local.Timeline)
	if !ok {
		rec.Reason = fmt.Sprintf("%s's timeline %d does not come from this node's timeline %d", p.Host, p.Timeline, local.Timeline)
		return StartVerdict{Keep: true, Record: rec, Reason: rec.Reason}
	}
	rec.ForkLSN = fork
	forkPos, _ := agent.ParseLSN(fork)
	if !endOK {
		if !local.WasPrimary() {
			return StartVerdict{Reason: "a standby's data whose WAL end is unknown (the image re-syncs it)"}
		}
		rec.Reason = fmt.Sprintf("this node's data was a primary on timeline %d; where its WAL ends is unknown, so it may hold writes past %s's fork at %s", local.Timeline, p.Host, fork)
		return StartVerdict{Keep: true, Record: rec, Reason: rec.Reason}
	}
	if endPos < forkPos {
		return StartVerdict{Reason: fmt.Sprintf("its last WAL record begins at %s, before %s's fork at %s: nothing to keep", end, p.Host, fork)}
	}
	rec.PastFork = int64(endPos - forkPos)
	rec.Reason = fmt.Sprintf("its WAL (timeline %d) goes on past the fork at %s where %s's timeline %d began (its last record at %s): writes the primary lacks", local.Timeline, fork, p.Host, p.Timeline, end)
	return StartVerdict{Keep: true, Record: rec, Reason: rec.Reason}
}

// StartGate observes, decides and acts until the start may go ahead, then
// returns (the caller execs the image's entrypoint). log gets one line per
// decision.
func StartGate(ctx context.Context, env StartGateEnv, volume, gateDir string, log io.Writer) error {
	data := filepath.Join(volume, "data")
	others := 0
	for _, p := range env.Partners {
		if h, _, _ := strings.Cut(p, ":"); h != env.Self {
			others++
		}
	}
	for try := 1; ; try++ {
		local, end, err := readLocal(ctx, imageBinDir, data)
		if err != nil {
			// Unreadable control data: the image would clone over it;
			// keep it instead.
			fmt.Fprintf(log, "haup start gate: %v\n", err)
		}
		peers := askPartners(ctx, env)
		_, lockErr := os.Stat(filepath.Join(volume, "lock", "master.lock"))
		v := DecideStart(env, local, end, peers, lockErr == nil, func() (bool, string) {
			ok, _, why := GateVerdict(gateDir, time.Now())
			return ok, why
		})
		if err != nil && local == nil && exists(filepath.Join(data, "PG_VERSION")) {
			v = StartVerdict{Keep: true, Reason: "its control data cannot be read (" + err.Error() + ")", Record: nodeapi.KeptRecord{Node: env.Node, Reason: err.Error()}}
		}
		if !v.Wait && !v.Keep && local != nil && local.WasPrimary() && len(peers) < others && try <= silentPartnerTries {
			// A primary's data, and a partner did not answer: it may be a
			// newer primary that the image would find a moment later and
			// clone this data from, deleting it. Give it a while.
			v = StartVerdict{Wait: true, Reason: fmt.Sprintf("this node's data was a primary, and %d of %d partners did not answer (try %d of %d)", others-len(peers), others, try, silentPartnerTries)}
		}
		switch {
		case v.Wait:
			fmt.Fprintf(log, "haup start gate: waiting: %s\n", v.Reason)
		case v.Keep:
			v.Record.At = time.Now().UTC()
			readCommits(ctx, imageBinDir, data, local, &v.Record)
			dir, err := keepAside(volume, data, v.Record)
			if err == nil {
				fmt.Fprintf(log, "haup start gate: data kept in %s: %s\n", dir, v.Reason)
				return nil
			}
			fmt.Fprintf(log, "haup start gate: waiting: %s, but it cannot be kept: %v\n", v.Reason, err)
		default:
			fmt.Fprintf(log, "haup start gate: %s\n", v.Reason)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

// silentPartnerTries is how many times, 5 s apart, a primary's data waits
// for a partner that does not answer before the image decides.
const silentPartnerTries = 6

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// readLocal reads the data directory's control data and where its WAL
// ends (nil: no data directory), with bin's programs.
func readLocal(ctx context.Context, bin, data string) (*Control, string, error) {
	if !exists(filepath.Join(data, "PG_VERSION")) {
		return nil, "", nil
	}
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "pg_controldata"), "-D", data).Output()
	if err != nil {
		return nil, "", fmt.Errorf("pg_controldata: %w", err)
	}
	c, err := ParseControl(string(out))
	if err != nil {
		return nil, "", err
	}
	return &c, walEnd(ctx, bin, data, c), nil
}

// walEnd finds where the last WAL record begins: pg_waldump from the last
// checkpoint's redo location on, to the end of the valid WAL (given a
// segment file instead, pg_waldump reads that one segment only). Its output
// is read as it comes, keeping the last record only. "" when it cannot tell.
// pg_waldump is bin's.
func walEnd(ctx context.Context, bin, data string, c Control) string {
	if c.Redo == "" {
		return ""
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_waldump"), "--path", filepath.Join(data, "pg_wal"),
		"--timeline", strconv.Itoa(c.Timeline), "--start", c.Redo)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return ""
	}
	if err := cmd.Start(); err != nil {
		return ""
	}
	end := ""
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := walRecRe.FindSubmatch(sc.Bytes()); m != nil {
			end = string(m[1])
		}
	}
	cmd.Wait() // it ends with an error where the WAL ends
	return end
}

// askPartners asks every partner but this node whether it is a primary,
// with its timeline, position and timeline history.
func askPartners(ctx context.Context, env StartGateEnv) []startPeer {
	var out []startPeer
	for _, host := range env.Partners {
		h, port := host, env.Port
		if hh, pp, ok := strings.Cut(host, ":"); ok {
			if n, err := strconv.Atoi(pp); err == nil {
				h, port = hh, n
			}
		}
		if h == env.Self {
			continue
		}
		if p, err := askPartner(ctx, env, h, port); err == nil {
			out = append(out, p)
		}
	}
	return out
}

const partnerQuery = `SELECT pg_is_in_recovery(),
  CASE WHEN pg_is_in_recovery() THEN 0 ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
  CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_current_wal_lsn()::text END`

func askPartner(ctx context.Context, env StartGateEnv, host string, port int) (startPeer, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// With database.tls, libpq's PGSSLMODE and PGSSLROOTCERT in the
	// container's environment say how (pgconn reads them too).
	ssl := "sslmode=disable"
	if os.Getenv("PGSSLMODE") != "" {
		ssl = ""
	}
	pc, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=%s %s application_name=haup-start-gate connect_timeout=3", host, port, env.User, env.DB, ssl))
	if err != nil {
		return startPeer{}, err
	}
	pc.Password = env.Password
	pc.Fallbacks = nil
	noExtensions(pc)
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		return startPeer{}, err
	}
	defer conn.Close(context.Background())
	res := conn.ExecParams(ctx, partnerQuery, nil, nil, nil, nil).Read()
	if res.Err != nil || len(res.Rows) != 1 {
		return startPeer{}, fmt.Errorf("%s: %v", host, res.Err)
	}
	row := res.Rows[0]
	p := startPeer{Host: host, Primary: string(row[0]) == "f", LSN: string(row[2])}
	p.Timeline, _ = strconv.Atoi(string(row[1]))
	if p.Primary && p.Timeline > 1 {
		h := conn.ExecParams(ctx, `SELECT pg_read_file('pg_wal/' || $1 || '.history')`, [][]byte{[]byte(fmt.Sprintf("%08X", p.Timeline))}, nil, nil, nil).Read()
		if h.Err != nil || len(h.Rows) != 1 {
			return startPeer{}, fmt.Errorf("%s: its timeline history: %v", host, h.Err)
		}
		p.History = string(h.Rows[0][0])
	}
	return p, nil
}

// keepAside moves data into volume/diverged-<time>/data with its record,
// after checking that the volume has room for the clone that follows (the
// kept copy stays where it is, on the same file system).
func keepAside(volume, data string, rec nodeapi.KeptRecord) (string, error) {
	rec.SizeBytes = dirSize(data)
	var st syscall.Statfs_t
	if err := syscall.Statfs(volume, &st); err != nil {
		return "", err
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < rec.SizeBytes+rec.SizeBytes/10 {
		return "", fmt.Errorf("the volume has %d MiB free, and the clone that follows needs about %d MiB: free space, or move the data directory away by hand", free>>20, (rec.SizeBytes+rec.SizeBytes/10)>>20)
	}
	dir := filepath.Join(volume, nodeapi.DivergedPrefix+rec.At.Format("20060102T150405Z"))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, nodeapi.KeptRecordFile), append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(data, filepath.Join(dir, "data")); err != nil {
		return "", err
	}
	return dir, nil
}
