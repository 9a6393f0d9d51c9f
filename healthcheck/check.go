package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/internal/atomicfile"
	"github.com/haup-project/haup/nodeapi"
	"github.com/jackc/pgx/v5/pgconn"
)

// LoadConfig reads the check's configuration and the password file.
func LoadConfig(path string) (nodeapi.Config, string, error) {
	var cfg nodeapi.Config
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, "", fmt.Errorf("config: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, "", fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.Host == "" || cfg.Port == 0 || cfg.User == "" || cfg.DeadlineMillis <= 0 {
		return cfg, "", fmt.Errorf("config %s: host, port, user and deadline_ms are required", path)
	}
	pw := ""
	if cfg.PasswordFile != "" {
		p, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return cfg, "", fmt.Errorf("password: %w", err)
		}
		pw = strings.TrimRight(string(p), "\r\n")
	}
	return cfg, pw, nil
}

// probe is what one database says about itself.
type probe struct {
	role     string
	timeline int
	lsn      string
	// readOnly is default_transaction_read_only: a primary with it on has
	// been fenced (by its own check or by a newer primary's) and refuses writes.
	readOnly bool
	// syncNames is synchronous_standby_names; streaming counts the standbys
	// streaming from a primary (zero-loss mode reads both).
	syncNames string
	streaming int
	// receiveLSN and receiver: a standby's last WAL received, and its WAL
	// receiver's session while it streams (pid@server start).
	receiveLSN, receiver string
}

// roleQuery answers role, timeline and WAL position in one round trip. On a
// primary the timeline comes from the current WAL file name, which changes
// at promotion (pg_control_checkpoint() lags until the next checkpoint); on a
// standby from what its WAL receiver receives, and only when it receives
// nothing from its last checkpoint (pg_walfile_name() is not allowed there).
const roleQuery = `SELECT pg_is_in_recovery(),
  CASE WHEN pg_is_in_recovery() THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver WHERE received_tli > 0),
                                              (SELECT timeline_id FROM pg_control_checkpoint()))
       ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
  CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text ELSE pg_current_wal_lsn()::text END,
  current_setting('default_transaction_read_only'),
  current_setting('synchronous_standby_names'),
  (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'),
  CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_receive_lsn()::text, '') ELSE '' END,
  coalesce((SELECT pid::text || '@' || extract(epoch FROM pg_postmaster_start_time())::bigint::text
            FROM pg_stat_wal_receiver WHERE status = 'streaming'), '')`

// roleColumns is how many columns roleQuery answers (watchQuery adds one).
const roleColumns = 8

// connConfig is the one way haup-check reaches a database: one attempt (no
// fallbacks to other hosts or to clear text), TimescaleDB not loaded, TLS as
// Config.TLSRootCert says.
func connConfig(cfg nodeapi.Config, password, host string, port int, db, app string) (*pgconn.Config, error) {
	pc, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=%s %s application_name=%s",
		host, port, cfg.User, db, sslParams(cfg.TLSRootCert, host == cfg.Host), app))
	if err != nil {
		return nil, err
	}
	pc.Password = password
	pc.Fallbacks = nil
	noExtensions(pc)
	return pc, nil
}

// ask connects to host:port and runs roleQuery before ctx's deadline.
func ask(ctx context.Context, cfg nodeapi.Config, password, host string, port int) (probe, error) {
	pc, err := connConfig(cfg, password, host, port, dbName(cfg), "haup-check")
	if err != nil {
		return probe{}, err
	}
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		return probe{}, describe(ctx, err)
	}
	defer conn.Close(context.Background())
	res := conn.ExecParams(ctx, roleQuery, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return probe{}, describe(ctx, res.Err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != roleColumns {
		return probe{}, fmt.Errorf("unexpected answer: %d rows", len(res.Rows))
	}
	row := res.Rows[0]
	var p probe
	switch string(row[0]) {
	case "t":
		p.role = nodeapi.RoleStandby
	case "f":
		p.role = nodeapi.RolePrimary
	default:
		return probe{}, fmt.Errorf("unexpected answer to pg_is_in_recovery(): %q", row[0])
	}
	if tl, err := strconv.Atoi(string(row[1])); err == nil {
		p.timeline = tl
	}
	p.lsn = string(row[2])
	p.readOnly = string(row[3]) == "on"
	p.syncNames = string(row[4])
	p.streaming, _ = strconv.Atoi(string(row[5]))
	p.receiveLSN, p.receiver = string(row[6]), string(row[7])
	return p, nil
}

// noExtensions keeps TimescaleDB from loading into the check's sessions:
// they read only PostgreSQL's own functions, and loading the extension's
// catalog costs each new session about 12 ms on a database that has it.
// Elsewhere the setting is an unused placeholder.
func noExtensions(pc *pgconn.Config) {
	if pc.RuntimeParams == nil {
		pc.RuntimeParams = map[string]string{}
	}
	pc.RuntimeParams["timescaledb.disable_load"] = "on"
}

func dbName(cfg nodeapi.Config) string {
	if cfg.Database == "" {
		return "postgres"
	}
	return cfg.Database
}

// Error is a database's failure to answer: its code for decisions, its
// short message for people.
type Error struct {
	Code agent.Fault
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// FaultOf is err's code: FaultNone for nil, FaultOther for an error that
// describe did not type.
func FaultOf(err error) agent.Fault {
	var e *Error
	switch {
	case err == nil:
		return agent.FaultNone
	case errors.As(err, &e):
		return e.Code
	}
	return agent.FaultOther
}

// describe turns driver errors into short, typed reasons. This is where
// a driver's error is classified, once; nothing after it reads a message.
func describe(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return &Error{agent.FaultTimeout, "timed out"}
	case errors.As(err, &pgErr):
		code := agent.FaultServer
		if pgErr.Code == "28P01" { // invalid_password
			code = agent.FaultAuth
		}
		return &Error{code, fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &Error{agent.FaultTimeout, "timed out"}
	// The driver's text as well as the errno: a refusal wrapped by a
	// layer that drops the errno is still one.
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused"):
		return &Error{agent.FaultRefused, "connection refused"}
	}
	return &Error{agent.FaultOther, err.Error()}
}

// Run performs one check with nothing remembered (see RunRecalling).
func Run(ctx context.Context, cfg nodeapi.Config, password string) nodeapi.Report {
	return RunRecalling(ctx, cfg, password, agent.Memory{})
}

// RunRecalling performs one check. It never takes longer than
// cfg.DeadlineMillis. It observes the local database, the peers and the
// witness at once; the verdict is agent.Assess's. mem tells which peers
// were last seen on an older timeline and went unanswered: those are not
// waited for (see agent.Memory.OlderPeers).
func RunRecalling(ctx context.Context, cfg nodeapi.Config, password string, mem agent.Memory) (r nodeapi.Report) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.DeadlineMillis)*time.Millisecond)
	defer cancel()
	r = nodeapi.Report{Node: cfg.Node, Role: nodeapi.RoleDown, At: start.UTC()}
	defer func() { r.LatencyMS = ms(time.Since(start)) }()

	// Ask the peers at the same time as the local database, so the whole
	// check costs one round trip of the slowest answer.
	var wg, peersWG sync.WaitGroup
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	r.Peers = make([]nodeapi.PeerReport, len(cfg.Peers))
	for i, p := range cfg.Peers {
		wg.Add(1)
		peersWG.Add(1)
		go func() {
			defer wg.Done()
			defer peersWG.Done()
			t := time.Now()
			pr := nodeapi.PeerReport{Name: p.Name, Role: nodeapi.RoleDown}
			got, err := ask(pctx, cfg, password, p.Host, p.Port)
			if err != nil {
				pr.Error, pr.Fault = err.Error(), FaultOf(err)
			} else {
				pr.Role, pr.Timeline = got.role, got.timeline
				pr.LSN, pr.SyncNames = got.lsn, got.syncNames
			}
			pr.Seen = FaultOf(err).Answered()
			pr.MS = ms(time.Since(t))
			r.Peers[i] = pr
		}()
	}
	if w := cfg.Witness; w != nil {
		r.Witness = &nodeapi.PeerReport{Name: w.Name, Role: nodeapi.RoleDown}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			err := askWitness(ctx, cfg, password, *w)
			if err != nil {
				r.Witness.Error, r.Witness.Fault = err.Error(), FaultOf(err)
			} else {
				r.Witness.Role = "witness"
			}
			// The witness counts only when its database answers: its vote
			// is its repmgr, not its host. (An error from its server
			// counted too once, as a *pgconn.PgError, but query's errors
			// are described: only an answer counts.)
			r.Witness.Seen = err == nil
			r.Witness.MS = ms(time.Since(t))
		}()
	}
	local, err := ask(ctx, cfg, password, cfg.Host, cfg.Port)
	if err != nil {
		cancel() // the verdict is known: do not wait for the peers
		wg.Wait()
		for i := range r.Peers {
			if r.Peers[i].Role == nodeapi.RoleDown {
				r.Peers[i].Error, r.Peers[i].Fault = "not asked: the local database does not answer", agent.FaultNotAsked
			}
		}
		if r.Witness != nil && r.Witness.Role == nodeapi.RoleDown {
			r.Witness.Error, r.Witness.Fault = "not asked: the local database does not answer", agent.FaultNotAsked
		}
		r.LocalFault, r.LocalError = FaultOf(err), err.Error()
		assess(&r, cfg)
		return r
	}
	r.Role, r.Timeline, r.LSN = local.role, local.timeline, local.lsn
	r.ReadOnly, r.SyncNames, r.Streaming = local.readOnly, local.syncNames, local.streaming
	r.ReceiveLSN, r.Receiver = local.receiveLSN, local.receiver
	if local.role != nodeapi.RolePrimary {
		// The verdict is known, but a peer that answers at once is
		// recorded (its timeline, see agent.Decide): the day this standby
		// is promoted, it knows its old primary was on an older timeline.
		// A standby that does not stream waits longer: whether its primary
		// still answers decides its promotion gate (agent.Eligibility).
		grace := olderPeerGrace
		if local.receiver == "" {
			grace = outOfSyncPeerGrace
		}
		waitPeers(&peersWG, grace)
		cancel()
		wg.Wait()
		for i := range r.Peers {
			if r.Peers[i].Role == nodeapi.RoleDown {
				r.Peers[i].Error, r.Peers[i].Fault = "not asked: the local database is a standby", agent.FaultNotAsked
			}
		}
		if r.Witness != nil && r.Witness.Role == nodeapi.RoleDown {
			r.Witness.Error, r.Witness.Fault = "not asked: the local database is a standby", agent.FaultNotAsked
		}
		assess(&r, cfg)
		return r
	}
	if older := mem.OlderPeers(peerNames(cfg), local.timeline); older != nil {
		// Every peer was last seen on a timeline older than this
		// primary's: none can be a newer primary (it would have had to
		// follow this node first, which this node would have seen), so a
		// peer that does not answer at once is not waited for. This is
		// the promoted standby whose old primary is frozen or powered
		// off: the VIP follows the promotion without waiting out the
		// deadline.
		if !waitPeers(&peersWG, olderPeerGrace) {
			pcancel()
			peersWG.Wait()
			for i := range r.Peers {
				if p := &r.Peers[i]; p.Role == nodeapi.RoleDown && !p.Seen {
					p.Error = fmt.Sprintf("no answer within %s (last seen on timeline %d, older than ours)", olderPeerGrace, older[p.Name])
					p.Fault, p.Older = agent.FaultNotAsked, true
				}
			}
		}
	}
	wg.Wait()
	assess(&r, cfg)
	return r
}

// assess sets the verdict from what the report holds.
func assess(r *nodeapi.Report, cfg nodeapi.Config) {
	local, peers, witness := r.Observed()
	v := agent.Assess(cfg.AgentConfig(), local, peers, witness)
	r.Pass, r.Reason, r.Isolated = v.Pass, v.Reason.Message, v.Isolated
	r.Stale = nil
	if v.Stale != nil {
		r.Stale = &nodeapi.Stale{Peer: v.Stale.Peer, Timeline: v.Stale.Timeline}
	}
}

func peerNames(cfg nodeapi.Config) []string {
	var out []string
	for _, p := range cfg.Peers {
		out = append(out, p.Name)
	}
	return out
}

// waitPeers waits for wg at most d and says whether it is done.
func waitPeers(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// olderPeerGrace is how long a primary waits for peers last seen on an
// older timeline: a peer that answers at all does so in a few ms.
const olderPeerGrace = 50 * time.Millisecond

// outOfSyncPeerGrace is how long a standby that does not stream waits for
// its peers: a primary that answers at all shows that it may be writing
// without this standby (see agent.Eligibility).
const outOfSyncPeerGrace = 250 * time.Millisecond

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteState writes the report atomically to path, for `haup status`.
func WriteState(path string, r nodeapi.Report) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}

// repmgrdQuery reads the local repmgrd's liveness: its registered pid is a
// live process, and when it last reached its upstream.
const repmgrdQuery = `SELECT coalesce(repmgr.repmgrd_is_running(), false)::text, coalesce(repmgr.get_upstream_last_seen(), -1)::text`

const versionQuery = `SELECT current_setting('server_version'),
  coalesce((SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'),
           (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'), '')`

const standbyReplQuery = `SELECT coalesce(sender_host, ''), coalesce(status, 'stopped'),
  coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,
  coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float8
FROM (SELECT 1) one LEFT JOIN pg_stat_wal_receiver ON true`

const primaryReplQuery = `SELECT coalesce(client_addr::text, ''), state,
  coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint,
  coalesce(extract(epoch FROM replay_lag), 0)::float8
FROM pg_stat_replication ORDER BY client_addr`

const repmgrQuery = `SELECT n.node_id, n.node_name, n.type, n.active, coalesce(u.node_name, '')
FROM repmgr.nodes n LEFT JOIN repmgr.nodes u ON u.node_id = n.upstream_node_id ORDER BY n.node_id`

// Status runs the check (recalling, as keepalived's runs do, which peers
// need not be waited for), then reads replication and repmgr's view.
func Status(ctx context.Context, cfg nodeapi.Config, password, repmgrDB string) nodeapi.StatusReport {
	mem, _ := LoadMemory(cfg, BootID())
	s := nodeapi.StatusReport{Report: RunRecalling(ctx, cfg, password, mem), AgentVersion: AgentVersion()}
	if cfg.Container != "" {
		s.Settling = ContainerSettling(ctx, cfg.Container)
	}
	if cfg.FencePath != "" {
		s.PortClosed = PortClosed(cfg)
	}
	// The record is on the host: a maintenance pause is seen while the
	// database is down too.
	if rec, err := ReadPause(cfg.PauseFile()); err == nil {
		s.Pause = rec
	}
	if s.Role == nodeapi.RoleDown {
		return s
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.DeadlineMillis)*time.Millisecond)
	defer cancel()
	q := primaryReplQuery
	if s.Role == nodeapi.RoleStandby {
		q = standbyReplQuery
	}
	rows, err := query(ctx, cfg, password, dbName(cfg), versionQuery+";"+q)
	if err != nil {
		s.StatusError = "replication: " + err.Error()
		return s
	}
	if len(rows) > 0 && len(rows[0]) == 2 {
		s.PostgreSQL, s.TimescaleDB = rows[0][0], rows[0][1]
		rows = rows[1:]
	}
	for _, r := range rows {
		lagB, _ := strconv.ParseInt(r[2], 10, 64)
		lagS, _ := strconv.ParseFloat(r[3], 64)
		s.Replication = append(s.Replication, nodeapi.Replication{Peer: r[0], State: r[1], LagBytes: lagB, LagSeconds: lagS})
	}
	if repmgrDB == "" {
		return s
	}
	// repmgrd's liveness apart, so an extension without those functions
	// costs only that.
	if st, _, err := ReadRepmgrd(ctx, cfg, password, repmgrDB); err == nil {
		s.Repmgrd = &st
	}
	rows, err = query(ctx, cfg, password, repmgrDB, repmgrQuery+";"+pausedQuery)
	if err != nil {
		s.StatusError = "repmgr: " + err.Error()
		return s
	}
	if n := len(rows); n > 0 && len(rows[n-1]) == 1 {
		s.FailoverPaused = rows[n-1][0] == "true"
		rows = rows[:n-1]
	}
	for _, r := range rows {
		id, _ := strconv.Atoi(r[0])
		s.Repmgr = append(s.Repmgr, nodeapi.RepmgrNode{ID: id, Name: r[1], Type: r[2], Active: r[3] == "t", Upstream: r[4]})
	}
	// Apart, so an events table that cannot be read costs only this.
	if rows, err := query(ctx, cfg, password, repmgrDB, lastFailoverQuery); err == nil && len(rows) == 1 && len(rows[0]) == 1 && rows[0][0] != "" {
		if sec, err := strconv.ParseFloat(rows[0][0], 64); err == nil {
			at := time.UnixMilli(int64(sec * 1000)).UTC()
			s.LastFailover = &at
		}
	}
	return s
}

// lastFailoverQuery is when repmgrd last promoted a standby (its event
// repmgrd_failover_promote; a switchover's promotion is not a failover).
const lastFailoverQuery = `SELECT coalesce(extract(epoch FROM max(event_timestamp))::text, '') FROM repmgr.events
WHERE event = 'repmgrd_failover_promote' AND successful`

func query(ctx context.Context, cfg nodeapi.Config, password, db, sql string) ([][]string, error) {
	pc, err := connConfig(cfg, password, cfg.Host, cfg.Port, db, "haup-status")
	if err != nil {
		return nil, err
	}
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, describe(ctx, err)
	}
	defer conn.Close(context.Background())
	// The simple protocol: sql may hold several statements, whose rows are
	// returned one after the other.
	results, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, describe(ctx, err)
	}
	var out [][]string
	for _, res := range results {
		for _, row := range res.Rows {
			var r []string
			for _, c := range row {
				r = append(r, string(c))
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// sslParams are the TLS settings of a connection: sslmode=disable without a
// CA; with one, verify-full, or verify-ca to the local database over
// loopback (its certificate need not name the loopback address: loopback
// traffic does not leave the node).
func sslParams(rootCert string, local bool) string {
	if rootCert == "" {
		return "sslmode=disable"
	}
	mode := "verify-full"
	if local {
		mode = "verify-ca"
	}
	return "sslmode=" + mode + " sslrootcert='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(rootCert) + "'"
}
