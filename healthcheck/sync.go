package healthcheck

import (
	"context"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
)

// Zero-loss mode (Config.Synchronous): the rule is the agent's (see
// agent.Decide); the primary's check carries it out with SetSyncNames.

// SyncNames is the value haup sets; haup resets only this value, so a
// setting of the operator's own is left alone.
const SyncNames = agent.SyncNames

// SyncStatePath is where earlier agents recorded, per timeline, whether a
// standby streamed from this primary (now in the agent's memory record; read
// once, to migrate).
const SyncStatePath = "/var/lib/haup/sync.json"

// SetSyncNames sets synchronous_standby_names to names ("": reset) and
// reloads the configuration.
func SetSyncNames(ctx context.Context, cfg nodeapi.Config, password, names string) error {
	stmt := "ALTER SYSTEM RESET synchronous_standby_names"
	if names != "" {
		stmt = "ALTER SYSTEM SET synchronous_standby_names = '" + names + "'"
	}
	if _, err := query(ctx, cfg, password, dbName(cfg), stmt); err != nil {
		return err
	}
	_, err := query(ctx, cfg, password, dbName(cfg), "SELECT pg_reload_conf()")
	return err
}
