package healthcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/haup-project/haup/nodeapi"
)

// Watch writes one JSON WatchSample per interval to out until ctx ends or
// out cannot be written (the reader went away). It keeps one connection to
// the local database and bounds every query by the interval, so a frozen or
// dead database shows as "unknown" at the sampling rate, never as a stall.
func Watch(ctx context.Context, cfg nodeapi.Config, password string, interval time.Duration, out io.Writer) error {
	enc := json.NewEncoder(out)
	var conn *pgconn.PgConn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	bound := max(interval, 50*time.Millisecond)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for seq := 1; ; seq++ {
		s := nodeapi.WatchSample{Seq: seq, DB: nodeapi.DBUnknown, AtMS: time.Now().UnixMilli()}
		if cfg.VIP != "" {
			s.VIP = HasLocalAddr(cfg.VIP)
		}
		qctx, cancel := context.WithTimeout(ctx, bound)
		if conn == nil {
			c, err := connectLocal(qctx, cfg, password, "haup-watch")
			if err != nil {
				s.Error = describe(qctx, err).Error()
			} else {
				conn = c
			}
		}
		if conn != nil {
			res := conn.ExecParams(qctx, watchQuery, nil, nil, nil, nil).Read()
			switch {
			case res.Err != nil:
				s.Error = describe(qctx, res.Err).Error()
				// A query cut short leaves the connection unusable.
				conn.Close(context.Background())
				conn = nil
			case len(res.Rows) == 1 && len(res.Rows[0]) == roleColumns+1:
				row := res.Rows[0]
				switch {
				case string(row[0]) == "t":
					s.DB = nodeapi.DBStandby
				case string(row[3]) == "on":
					s.DB = nodeapi.DBReadOnly
				case string(row[roleColumns]) == "t":
					s.DB = nodeapi.DBBlocked
				default:
					s.DB = nodeapi.DBWritable
				}
				if s.DB != nodeapi.DBStandby && PortClosed(cfg) != nil {
					// Its port is closed to everything but loopback: no
					// client can reach it (see ClosePort).
					s.DB = nodeapi.DBCutOff
				}
				fmt.Sscan(string(row[1]), &s.Timeline)
			}
		}
		cancel()
		if err := enc.Encode(s); err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// watchQuery is roleQuery and whether commits wait for a synchronous
// standby that is not there.
const watchQuery = roleQuery + `,
  current_setting('synchronous_standby_names') <> '' AND NOT pg_is_in_recovery()
    AND NOT EXISTS (SELECT 1 FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))`

// connectLocal opens a session to the local database as app.
func connectLocal(ctx context.Context, cfg nodeapi.Config, password, app string) (*pgconn.PgConn, error) {
	pc, err := connConfig(cfg, password, cfg.Host, cfg.Port, dbName(cfg), app)
	if err != nil {
		return nil, err
	}
	return pgconn.ConnectConfig(ctx, pc)
}

// HasLocalAddr reports whether addr is on one of this host's interfaces.
func HasLocalAddr(addr string) bool {
	ip := net.ParseIP(addr)
	addrs, err := net.InterfaceAddrs()
	if err != nil || ip == nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
