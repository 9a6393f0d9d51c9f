package drill

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Writer commits numbered rows through the VIP, one at a time, and records
// which were acknowledged. An attempt whose outcome is unknown (timed out,
// connection lost before the answer) is not acknowledged.
type Writer struct {
	Addr     string // VIP
	Port     int
	Password string
	// RootCAs (PEM), when set: writes over TLS, the database's certificate
	// verified as sslmode=verify-full does (database.tls).
	RootCAs []byte
	Table   string
	// Every is the pause between attempts; Timeout bounds one attempt.
	Every, Timeout time.Duration

	mu       sync.Mutex
	acked    []int64
	ackedAt  []time.Time
	latency  []time.Duration
	attempts int
	failures int
	lastErr  string
}

func (w *Writer) config(ctx context.Context) (*pgx.ConnConfig, error) {
	ssl := "disable"
	if len(w.RootCAs) > 0 {
		ssl = "require" // verified below, as verify-full does
	}
	dsn := fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=%s application_name=haup-drill connect_timeout=1",
		w.Addr, w.Port, ssl)
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if len(w.RootCAs) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(w.RootCAs) {
			return nil, fmt.Errorf("database.tls: no CA certificate to verify the database with")
		}
		// verify-full: the chain to the cluster's CA and the VIP's name.
		cc.TLSConfig = &tls.Config{RootCAs: pool, ServerName: w.Addr, MinVersion: tls.VersionTLS12}
	}
	cc.Password = w.Password
	cc.Fallbacks = nil
	cc.DialFunc = (&net.Dialer{Timeout: w.Timeout}).DialContext
	cc.RuntimeParams["timescaledb.disable_load"] = "on"
	return cc, nil
}

// Hedge is how often the writer opens another connection while the ones it
// opened before have not answered (up to its Timeout). A connection opened
// just before the VIP moved waits for a node that is gone (its SYN went to
// the old holder's MAC) until its timeout; the next one, opened after the
// new holder's gratuitous ARP, is answered at once. So the first write
// after an outage measures when the cluster took writes again, to within
// Hedge, not when the client's timeout ran out. Writes stay one at a time,
// on one connection.
const Hedge = 100 * time.Millisecond

// connect opens a connection through the VIP within w.Timeout, opening
// another every Hedge while none has answered; the first to answer is used,
// the others are closed.
func (w *Writer) connect(ctx context.Context) (*pgx.Conn, error) {
	cc, err := w.config(ctx)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, w.Timeout)
	type result struct {
		c   *pgx.Conn
		err error
	}
	results := make(chan result)
	var opened sync.WaitGroup
	open := func() {
		opened.Go(func() {
			c, err := pgx.ConnectConfig(cctx, cc.Copy())
			select {
			case results <- result{c, err}:
			case <-cctx.Done():
				if c != nil {
					c.Close(context.Background())
				}
			}
		})
	}
	// The connections not used are closed by their goroutines once the
	// attempt is over (cctx done); wait for them so none outlives it.
	defer func() { cancel(); opened.Wait() }()
	open()
	hedge := time.NewTicker(Hedge)
	defer hedge.Stop()
	var last error
	for {
		select {
		case r := <-results:
			if r.err == nil {
				return r.c, nil
			}
			last = r.err
		case <-hedge.C:
			open()
		case <-cctx.Done():
			if last == nil {
				last = cctx.Err()
			}
			return nil, last
		}
	}
}

// Exec runs one statement through the VIP on a connection of its own.
func (w *Writer) Exec(ctx context.Context, sql string, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cc, err := w.config(cctx)
	if err != nil {
		return err
	}
	c, err := pgx.ConnectConfig(cctx, cc)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(cctx, sql)
	return err
}

// Stored returns the ids the table holds, read through the VIP.
func (w *Writer) Stored(ctx context.Context) (map[int64]bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cc, err := w.config(cctx)
	if err != nil {
		return nil, err
	}
	c, err := pgx.ConnectConfig(cctx, cc)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	rows, err := c.Query(cctx, "SELECT id FROM "+pgx.Identifier{w.Table}.Sanitize())
	if err != nil {
		return nil, err
	}
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// Run writes until ctx ends.
func (w *Writer) Run(ctx context.Context) {
	insert := "INSERT INTO " + pgx.Identifier{w.Table}.Sanitize() + " (id) VALUES ($1)"
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for id := int64(1); ctx.Err() == nil; id++ {
		start := time.Now()
		w.mu.Lock()
		w.attempts++
		w.mu.Unlock()
		err := func() error {
			if conn == nil {
				c, err := w.connect(ctx)
				if err != nil {
					return err
				}
				conn = c
			}
			actx, cancel := context.WithTimeout(ctx, w.Timeout)
			defer cancel()
			_, err := conn.Exec(actx, insert, id)
			return err
		}()
		pause := w.Every
		w.mu.Lock()
		if err == nil {
			now := time.Now()
			w.acked = append(w.acked, id)
			w.ackedAt = append(w.ackedAt, now)
			w.latency = append(w.latency, now.Sub(start))
		} else {
			w.failures++
			w.lastErr = err.Error()
			pause = 2 * w.Every
		}
		w.mu.Unlock()
		if err != nil && conn != nil {
			conn.Close(context.Background())
			conn = nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// OutageGap is the longest time between two acknowledgements that is not
// an outage: writes are paced every 50 ms, so five missed in a row.
const OutageGap = 250 * time.Millisecond

// WritesBack is when writes came back after t: the acknowledgement that
// ended the first gap of more than OutageGap from t on (the outage, which
// may begin a moment after t), or with no such gap the first
// acknowledgement after t. It is false while writes are out (none for
// OutageGap up to now) or none came. A write that spanned the outage (its
// connection attempts hedged until one reached the new primary) ends it:
// the outage is seen in the acknowledgements, not in failed attempts.
func (w *Writer) WritesBack(t, now time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, first := t, time.Time{}
	for _, at := range w.ackedAt {
		if !at.After(t) {
			continue
		}
		if first.IsZero() {
			first = at
		}
		if at.Sub(prev) > OutageGap {
			return at, true
		}
		prev = at
	}
	if now.Sub(prev) > OutageGap || first.IsZero() {
		return time.Time{}, false
	}
	return first, true
}

// CommitLatency is the median time an acknowledged write took among those
// acknowledged before t (the cluster's steady state before a fault).
func (w *Writer) CommitLatency(t time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var l []time.Duration
	for i := range w.acked {
		if w.ackedAt[i].Before(t) {
			l = append(l, w.latency[i])
		}
	}
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	return l[len(l)/2]
}

// LongestGap is the longest time without an acknowledgement from t on (t
// counts as one; the end of the writes too).
func (w *Writer) LongestGap(t, end time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	longest, prev := time.Duration(0), t
	for _, at := range w.ackedAt {
		if at.Before(t) {
			continue
		}
		longest = max(longest, at.Sub(prev))
		prev = at
	}
	return max(longest, end.Sub(prev))
}

// Acked returns the acknowledged ids.
func (w *Writer) Acked() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.acked...)
}

// Counts returns attempts, failures and the last error.
func (w *Writer) Counts() (attempts, failures int, lastErr string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.attempts, w.failures, w.lastErr
}

// tableName is a fresh name for one drill's table.
func tableName(t time.Time) string {
	return "haup_drill_" + strconv.FormatInt(t.Unix(), 10)
}
