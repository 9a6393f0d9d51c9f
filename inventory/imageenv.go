package inventory

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The environment variables of the database image, and what
// database.environment may do with each.
//
// Every name the image reads comes from its scripts: bitnami's
// postgresql-repmgr 14 (debian-12), vendored unmodified in
// shared/vendor/bitnami-postgresql-repmgr-14 (NOTES.md there describes
// them). Lines below are those of rootfs/opt/bitnami/scripts/
// postgresql-env.sh, which defines them all, unless a row names another
// file. A variable is in exactly one class:
//
//   - envHaup: haup sets it from the inventory (HaupSetEnv);
//   - envBreaks: it changes the users, databases, data, authentication or
//     failover that haup and its health check rely on;
//   - envNoEffect: the image sets it itself or never reads it, so a value
//     given would be silently ignored;
//   - envTuning: safe to set; its value is checked where the image or
//     PostgreSQL would refuse it.
//
// The image also reads POSTGRES_* aliases of many POSTGRESQL_* names
// (envAliases) and a NAME_FILE variant of the names it lists at lines
// 26-202 (envFileVars). Other REPMGR_, POSTGRESQL_ and POSTGRES_ names are
// refused as typos the image would ignore; any other name is passed on as
// given (TZ, for instance).

// envClass says what database.environment may do with a variable.
type envClass int

const (
	envHaup envClass = iota + 1
	envBreaks
	envNoEffect
	envTuning
)

// envVar is one variable the image reads.
type envVar struct {
	name string
	// line in postgresql-env.sh where the image defines it (or, for a
	// variable it overwrites, where it overwrites it).
	line  int
	class envClass
	// field is the inventory field haup sets it from (envHaup), or ""
	// when haup sets it on its own.
	field string
	// why is the reason (envBreaks, envNoEffect, envHaup without a
	// field), or what a valid value is (envTuning).
	why string
	// check says what is wrong with a tuning value, or "".
	check func(string) string
}

const envSource = "postgresql-env.sh"

// Reasons shared by several variables.
const (
	whyImageSets   = "the image sets it itself"
	whyUnused      = "the image's scripts never read it"
	whyLDAP        = "LDAP authentication would replace the pg_hba.conf rules repmgr and haup's health check log in with; haup does not support it"
	whyClientCert  = "a CA file makes the image require client certificates (hostssl ... cert) of every TLS client before any password rule (librepmgr.sh:429-440), which repmgr, replication and haup's health check do not have; database.tls verifies the server's certificate instead"
	whySecret      = "a secret in the container's environment shows in docker inspect and in haup's plans; haup passes secrets only as files"
	whyFencing     = "part of repmgr's fencing of an isolated primary, which haup configures (REPMGR_FENCE_OLD_PRIMARY)"
	whyPGAudit     = "haup's shared_preload_libraries do not load pgaudit, so pgaudit settings do nothing"
	whySynchronous = "synchronous replication is haup's zero-loss mode; set database.synchronous instead"
)

// libpqTLSEnv are libpq's variables haup sets with database.tls, read by
// every client in the container.
var libpqTLSEnv = map[string]bool{"PGSSLMODE": true, "PGSSLROOTCERT": true, "PGSERVICE": true, "PGSERVICEFILE": true}

// envVars are the variables the image reads, in the order of
// postgresql-env.sh.
var envVars = []envVar{
	{name: "BITNAMI_DEBUG", line: 22, class: envTuning, why: "true or false", check: oneOf("true", "false")},
	{name: "POSTGRESQL_VOLUME_DIR", line: 218, class: envBreaks, why: "haup mounts database.data_dir at /bitnami/postgresql, where the image must keep its data; set database.data_dir instead"},
	{name: "POSTGRESQL_BASE_DIR", line: 219, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_DATA_DIR", line: 220, class: envBreaks, why: "data outside /bitnami/postgresql is outside haup's mount and is lost when the container is recreated; set database.data_dir instead"},
	{name: "POSTGRESQL_DEFAULT_CONF_DIR", line: 223, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_CONF_DIR", line: 224, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_MOUNTED_CONF_DIR", line: 225, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_CONF_FILE", line: 226, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_PGHBA_FILE", line: 227, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_RECOVERY_FILE", line: 228, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_LOG_DIR", line: 229, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_LOG_FILE", line: 230, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_TMP_DIR", line: 231, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_PID_FILE", line: 232, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_BIN_DIR", line: 233, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_INITSCRIPTS_DIR", line: 234, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_PREINITSCRIPTS_DIR", line: 235, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_DAEMON_USER", line: 239, class: envNoEffect, why: whyImageSets + " (PostgreSQL runs as postgres)"},
	{name: "POSTGRESQL_DAEMON_GROUP", line: 240, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_EXTRA_FLAGS", line: 243, class: envNoEffect, why: whyUnused},
	{name: "POSTGRESQL_INIT_MAX_TIMEOUT", line: 244, class: envTuning, why: "seconds, 1..86400 (how long the image waits for PostgreSQL to start)", check: intIn(1, 86400)},
	{name: "POSTGRESQL_PGCTLTIMEOUT", line: 245, class: envTuning, why: "seconds, 60..86400: below the image's 60, pg_ctl stop can give up on a slow shutdown, and the fencing of an isolated primary then skips stopping its container (librepmgr.sh:547)", check: intIn(60, 86400)},
	{name: "POSTGRESQL_SHUTDOWN_MODE", line: 246, class: envBreaks, why: "the fencing of an isolated primary stops PostgreSQL in this mode (librepmgr.sh:547, libpostgresql.sh:758): smart waits for every client and keeps an isolated primary writable; fast is what haup relies on"},
	{name: "POSTGRESQL_CLUSTER_APP_NAME", line: 248, class: envBreaks, why: "the image names the synchronous standbys with it (libpostgresql.sh:411-423); " + whySynchronous},
	{name: "POSTGRESQL_DATABASE", line: 250, class: envBreaks, why: "changes the database the image creates; haup and its health check use the postgres database"},
	{name: "POSTGRESQL_INITDB_ARGS", line: 253, class: envTuning, why: "initdb options (--data-checksums, --encoding, --locale...), without -U/--username, -D/--pgdata, -X/--waldir, -A/--auth, --pwfile or -W, which the image and haup set", check: initdbArgs},
	{name: "ALLOW_EMPTY_PASSWORD", line: 255, class: envBreaks, why: "haup always sets both passwords, and the flag only skips the image's password checks (libpostgresql.sh:71)"},
	{name: "POSTGRESQL_INITDB_WAL_DIR", line: 256, class: envBreaks, why: "WAL outside the data directory is outside haup's mount: it is lost when the container is recreated, and haup's rejoin and clone keep only the data directory"},
	{name: "POSTGRESQL_MASTER_HOST", line: 456, class: envNoEffect, why: "the image sets it from REPMGR_PRIMARY_HOST"},
	{name: "POSTGRESQL_MASTER_PORT_NUMBER", line: 457, class: envNoEffect, why: "the image sets it from REPMGR_PRIMARY_PORT"},
	{name: "POSTGRESQL_NUM_SYNCHRONOUS_REPLICAS", line: 262, class: envHaup, field: "database.synchronous"},
	{name: "POSTGRESQL_SYNCHRONOUS_REPLICAS_MODE", line: 264, class: envBreaks, why: whySynchronous},
	{name: "POSTGRESQL_PORT_NUMBER", line: 266, class: envHaup, field: "database.port"},
	{name: "POSTGRESQL_ALLOW_REMOTE_CONNECTIONS", line: 268, class: envBreaks, why: "replication, repmgr and the health check's peers all connect remotely"},
	{name: "POSTGRESQL_REPLICATION_MODE", line: 270, class: envBreaks, why: "repmgr decides each node's role at every start (librepmgr.sh:285-313); a fixed replication mode contradicts it"},
	{name: "POSTGRESQL_REPLICATION_USER", line: 452, class: envNoEffect, why: "the image sets it from REPMGR_USERNAME"},
	{name: "POSTGRESQL_SYNCHRONOUS_COMMIT_MODE", line: 274, class: envHaup, field: "database.synchronous"},
	{name: "POSTGRESQL_FSYNC", line: 276, class: envBreaks, why: "fsync off loses committed transactions when a node crashes, and a failover can then lose acknowledged writes"},
	{name: "POSTGRESQL_USERNAME", line: 278, class: envBreaks, why: "changes the user the image creates and gives database.postgres_password to (libpostgresql.sh:640-650); haup and its health check log in as postgres"},
	{name: "POSTGRESQL_ENABLE_LDAP", line: 282, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_URL", line: 284, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_PREFIX", line: 286, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_SUFFIX", line: 288, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_SERVER", line: 290, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_PORT", line: 292, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_SCHEME", line: 294, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_TLS", line: 296, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_BASE_DN", line: 298, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_BIND_DN", line: 300, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_BIND_PASSWORD", line: 302, class: envBreaks, why: whySecret},
	{name: "POSTGRESQL_LDAP_SEARCH_ATTR", line: 304, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_LDAP_SEARCH_FILTER", line: 306, class: envBreaks, why: whyLDAP},
	{name: "POSTGRESQL_INITSCRIPTS_USERNAME", line: 308, class: envTuning, why: "the user that runs /docker-entrypoint-initdb.d scripts (libpostgresql.sh:735)", check: anyValue},
	{name: "POSTGRESQL_PASSWORD", line: 310, class: envHaup, field: "database.postgres_password"},
	{name: "POSTGRESQL_POSTGRES_PASSWORD", line: 312, class: envHaup, field: "database.postgres_password"},
	{name: "POSTGRESQL_REPLICATION_PASSWORD", line: 453, class: envNoEffect, why: "the image sets it from REPMGR_PASSWORD"},
	{name: "POSTGRESQL_INITSCRIPTS_PASSWORD", line: 316, class: envBreaks, why: whySecret},
	{name: "POSTGRESQL_ENABLE_TLS", line: 318, class: envHaup, field: "database.tls"},
	{name: "POSTGRESQL_TLS_CERT_FILE", line: 320, class: envHaup, field: "database.tls.cert_file"},
	{name: "POSTGRESQL_TLS_KEY_FILE", line: 322, class: envHaup, field: "database.tls.key_file"},
	{name: "POSTGRESQL_TLS_CA_FILE", line: 324, class: envBreaks, why: whyClientCert},
	{name: "POSTGRESQL_TLS_CRL_FILE", line: 326, class: envBreaks, why: "only checks client certificates, which haup does not use (" + whyClientCert + ")"},
	{name: "POSTGRESQL_TLS_PREFER_SERVER_CIPHERS", line: 328, class: envTuning, why: "yes or no", check: oneOf("yes", "no")},
	{name: "POSTGRESQL_SHARED_PRELOAD_LIBRARIES", line: 330, class: envHaup, why: "the libraries the image's TimescaleDB and repmgr need"},
	{name: "POSTGRESQL_PGAUDIT_LOG", line: 332, class: envNoEffect, why: whyPGAudit},
	{name: "POSTGRESQL_PGAUDIT_LOG_CATALOG", line: 334, class: envNoEffect, why: whyPGAudit},
	{name: "POSTGRESQL_PGAUDIT_LOG_PARAMETER", line: 336, class: envNoEffect, why: whyPGAudit},
	{name: "POSTGRESQL_LOG_CONNECTIONS", line: 338, class: envTuning, why: "a PostgreSQL boolean (on, off, true, false, yes, no, 1, 0)", check: pgBool},
	{name: "POSTGRESQL_LOG_DISCONNECTIONS", line: 340, class: envTuning, why: "a PostgreSQL boolean", check: pgBool},
	{name: "POSTGRESQL_LOG_HOSTNAME", line: 342, class: envTuning, why: "a PostgreSQL boolean", check: pgBool},
	{name: "POSTGRESQL_CLIENT_MIN_MESSAGES", line: 344, class: envTuning, why: "debug5..debug1, log, notice, warning or error", check: oneOf("debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error")},
	{name: "POSTGRESQL_LOG_LINE_PREFIX", line: 346, class: envTuning, why: "log_line_prefix", check: anyValue},
	{name: "POSTGRESQL_LOG_TIMEZONE", line: 348, class: envTuning, why: "a time zone name", check: anyValue},
	{name: "POSTGRESQL_TIMEZONE", line: 350, class: envTuning, why: "a time zone name", check: anyValue},
	{name: "POSTGRESQL_MAX_CONNECTIONS", line: 352, class: envTuning, why: "4..262143 (more than the 3 connections reserved for superusers, which haup's health check uses)", check: intIn(4, 262143)},
	{name: "POSTGRESQL_TCP_KEEPALIVES_IDLE", line: 354, class: envTuning, why: "seconds, 0..2147483647", check: intIn(0, 2147483647)},
	{name: "POSTGRESQL_TCP_KEEPALIVES_INTERVAL", line: 356, class: envTuning, why: "seconds, 0..2147483647", check: intIn(0, 2147483647)},
	{name: "POSTGRESQL_TCP_KEEPALIVES_COUNT", line: 358, class: envTuning, why: "0..2147483647", check: intIn(0, 2147483647)},
	{name: "POSTGRESQL_STATEMENT_TIMEOUT", line: 360, class: envTuning, why: "statement_timeout, e.g. 30s or 30000", check: anyValue},
	{name: "POSTGRESQL_PGHBA_REMOVE_FILTERS", line: 362, class: envBreaks, why: "removes pg_hba.conf rules that repmgr, replication and the health check log in with"},
	{name: "POSTGRESQL_USERNAME_CONNECTION_LIMIT", line: 364, class: envNoEffect, why: "it applies to a POSTGRESQL_USERNAME other than postgres, which haup refuses"},
	{name: "POSTGRESQL_POSTGRES_CONNECTION_LIMIT", line: 366, class: envBreaks, why: "limits the postgres user's connections, which locks out haup's health check and tools"},
	{name: "POSTGRESQL_WAL_LEVEL", line: 368, class: envTuning, why: "replica or logical (minimal cannot replicate)", check: oneOf("replica", "logical")},
	{name: "POSTGRESQL_DEFAULT_TOAST_COMPRESSION", line: 369, class: envTuning, why: "pglz or lz4", check: oneOf("pglz", "lz4")},
	{name: "POSTGRESQL_PASSWORD_ENCRYPTION", line: 370, class: envTuning, why: "scram-sha-256 or md5", check: oneOf("scram-sha-256", "md5")},
	{name: "POSTGRESQL_DEFAULT_TRANSACTION_ISOLATION", line: 371, class: envTuning, why: "read uncommitted, read committed, repeatable read or serializable", check: oneOf("read uncommitted", "read committed", "repeatable read", "serializable")},
	{name: "POSTGRESQL_AUTOCTL_VOLUME_DIR", line: 374, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_AUTOCTL_CONF_DIR", line: 375, class: envNoEffect, why: whyUnused + " (pg_auto_failover is not this image's)"},
	{name: "POSTGRESQL_AUTOCTL_MODE", line: 376, class: envNoEffect, why: whyUnused + " (pg_auto_failover is not this image's)"},
	{name: "POSTGRESQL_AUTOCTL_MONITOR_HOST", line: 377, class: envNoEffect, why: whyUnused + " (pg_auto_failover is not this image's)"},
	{name: "POSTGRESQL_AUTOCTL_HOSTNAME", line: 378, class: envNoEffect, why: whyUnused + " (pg_auto_failover is not this image's)"},
	{name: "POSTGRESQL_PGBACKREST_VOLUME_DIR", line: 381, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_PGBACKREST_LOGS_DIR", line: 382, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_PGBACKREST_BACKUPS_DIR", line: 383, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_PGBACKREST_SPOOL_DIR", line: 384, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_PGBACKREST_CONF_FILE", line: 385, class: envNoEffect, why: whyImageSets},
	{name: "POSTGRESQL_FIRST_BOOT", line: 388, class: envNoEffect, why: whyImageSets},
	{name: "NSS_WRAPPER_LIB", line: 389, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_BASE_DIR", line: 393, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_CONF_DIR", line: 394, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_VOLUME_DIR", line: 395, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_MOUNTED_CONF_DIR", line: 396, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_TMP_DIR", line: 397, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_EVENTS_DIR", line: 398, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_LOCK_DIR", line: 399, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_PRIMARY_ROLE_LOCK_FILE_NAME", line: 400, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_STANDBY_ROLE_LOCK_FILE_NAME", line: 401, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_BIN_DIR", line: 402, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_CONF_FILE", line: 403, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_DATA_DIR", line: 404, class: envNoEffect, why: whyUnused},
	{name: "REPMGR_NODE_ID", line: 407, class: envHaup, field: "nodes[].name"},
	{name: "REPMGR_NODE_ID_START_SEED", line: 408, class: envBreaks, why: "haup derives each node's repmgr id as the number of its name + 1000, the image's default seed"},
	{name: "REPMGR_NODE_NAME", line: 409, class: envHaup, field: "nodes[].name"},
	{name: "REPMGR_NODE_NETWORK_NAME", line: 410, class: envHaup, field: "nodes[].database_address"},
	{name: "REPMGR_NODE_PRIORITY", line: 411, class: envBreaks, why: "one value for every node changes no promotion choice, except 0, which makes no node promotable"},
	{name: "REPMGR_NODE_LOCATION", line: 412, class: envTuning, why: "repmgr's location, the same for every node", check: anyValue},
	{name: "REPMGR_NODE_TYPE", line: 413, class: envHaup, field: "witness"},
	{name: "REPMGR_PORT_NUMBER", line: 414, class: envHaup, field: "database.port"},
	{name: "REPMGR_LOG_LEVEL", line: 415, class: envTuning, why: "DEBUG, INFO, NOTICE, WARNING, ERROR, ALERT, CRIT or EMERG", check: oneOf("DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "ALERT", "CRIT", "EMERG")},
	{name: "REPMGR_USE_PGREWIND", line: 416, class: envHaup, why: "how a returning node resyncs is haup's rejoin"},
	{name: "REPMGR_START_OPTIONS", line: 417, class: envNoEffect, why: whyUnused + " (run.sh's repmgrd flags are fixed)"},
	{name: "REPMGR_CONNECT_TIMEOUT", line: 418, class: envHaup, field: "database.repmgr.connect_timeout"},
	{name: "REPMGR_RECONNECT_ATTEMPTS", line: 419, class: envHaup, field: "database.repmgr.reconnect_attempts"},
	{name: "REPMGR_RECONNECT_INTERVAL", line: 420, class: envHaup, field: "database.repmgr.reconnect_interval"},
	{name: "REPMGR_PARTNER_NODES", line: 421, class: envHaup, field: "nodes[].database_address"},
	{name: "REPMGR_PRIMARY_HOST", line: 422, class: envHaup, field: "database.primary"},
	{name: "REPMGR_PRIMARY_PORT", line: 423, class: envHaup, field: "database.port"},
	{name: "REPMGR_USE_REPLICATION_SLOTS", line: 424, class: envHaup, why: "replication slots keep the WAL a standby still needs"},
	{name: "REPMGR_MASTER_RESPONSE_TIMEOUT", line: 425, class: envTuning, why: "seconds, 1..3600 (repmgr's async_query_timeout)", check: intIn(1, 3600)},
	{name: "REPMGR_PRIMARY_VISIBILITY_CONSENSUS", line: 426, class: envHaup, field: "witness"},
	{name: "REPMGR_MONITORING_HISTORY", line: 427, class: envTuning, why: "yes or no", check: oneOf("yes", "no")},
	{name: "REPMGR_MONITOR_INTERVAL_SECS", line: 428, class: envHaup, field: "database.repmgr.monitor_interval"},
	{name: "REPMGR_DEGRADED_MONITORING_TIMEOUT", line: 429, class: envHaup, why: "part of haup's failure detection"},
	{name: "REPMGR_UPGRADE_EXTENSION", line: 430, class: envTuning, why: "yes or no (yes: the primary runs ALTER EXTENSION repmgr UPDATE at start, after an image upgrade)", check: oneOf("yes", "no")},
	{name: "REPMGR_FENCE_OLD_PRIMARY", line: 431, class: envHaup, why: "the fencing of an isolated primary is haup's"},
	{name: "REPMGR_FAILOVER", line: 432, class: envHaup, why: "automatic failover is what haup runs; a switchover pauses it itself"},
	{name: "REPMGR_CHILD_NODES_CHECK_INTERVAL", line: 433, class: envBreaks, why: whyFencing},
	{name: "REPMGR_CHILD_NODES_CONNECTED_MIN_COUNT", line: 434, class: envBreaks, why: whyFencing},
	{name: "REPMGR_CHILD_NODES_DISCONNECT_TIMEOUT", line: 435, class: envBreaks, why: whyFencing},
	{name: "REPMGR_SWITCH_ROLE", line: 438, class: envBreaks, why: "the image sets it when a node must follow another primary (librepmgr.sh:243-254); given, it turns every start into a role switch"},
	{name: "REPMGR_CURRENT_PRIMARY_HOST", line: 439, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_CURRENT_PRIMARY_PORT", line: 440, class: envNoEffect, why: whyImageSets},
	{name: "REPMGR_USERNAME", line: 443, class: envBreaks, why: "changes the repmgr user; haup reads repmgr's metadata as user repmgr"},
	{name: "REPMGR_DATABASE", line: 444, class: envBreaks, why: "changes the repmgr database; haup reads repmgr's metadata in database repmgr"},
	{name: "REPMGR_PGHBA_TRUST_ALL", line: 445, class: envHaup, why: "password authentication stays on"},
	{name: "REPMGR_PASSWORD", line: 446, class: envHaup, field: "database.repmgr_password"},
	{name: "REPMGR_USE_PASSFILE", line: 447, class: envHaup, why: "the repmgr password travels in .pgpass, not in repmgr.conf"},
	{name: "REPMGR_PASSFILE_PATH", line: 448, class: envHaup, why: "the repmgr password travels in .pgpass, not in repmgr.conf"},
	{name: "PGCONNECT_TIMEOUT", line: 451, class: envTuning, why: "seconds, 2..3600 (libpq's default for the image's own psql and repmgr calls)", check: intIn(2, 3600)},
	{name: "POSTGRESQL_REPLICATION_USE_PASSFILE", line: 454, class: envNoEffect, why: "the image sets it from REPMGR_USE_PASSFILE"},
	{name: "POSTGRESQL_REPLICATION_PASSFILE_PATH", line: 455, class: envBreaks, why: "replication must read the .pgpass haup has the image write (REPMGR_PASSFILE_PATH)"},
}

// envFileVars are the names whose NAME_FILE variant the image reads a value
// from (postgresql-env.sh:26-202, read at 204-214).
var envFileVars = strings.Fields(`
	POSTGRESQL_VOLUME_DIR POSTGRESQL_DATA_DIR POSTGRESQL_EXTRA_FLAGS
	POSTGRESQL_INIT_MAX_TIMEOUT POSTGRESQL_PGCTLTIMEOUT POSTGRESQL_SHUTDOWN_MODE
	POSTGRESQL_CLUSTER_APP_NAME POSTGRESQL_DATABASE POSTGRESQL_INITDB_ARGS
	ALLOW_EMPTY_PASSWORD POSTGRESQL_INITDB_WAL_DIR POSTGRESQL_MASTER_HOST
	POSTGRESQL_MASTER_PORT_NUMBER POSTGRESQL_NUM_SYNCHRONOUS_REPLICAS
	POSTGRESQL_SYNCHRONOUS_REPLICAS_MODE POSTGRESQL_PORT_NUMBER
	POSTGRESQL_ALLOW_REMOTE_CONNECTIONS POSTGRESQL_REPLICATION_MODE
	POSTGRESQL_REPLICATION_USER POSTGRESQL_SYNCHRONOUS_COMMIT_MODE POSTGRESQL_FSYNC
	POSTGRESQL_USERNAME POSTGRESQL_ENABLE_LDAP POSTGRESQL_LDAP_URL
	POSTGRESQL_LDAP_PREFIX POSTGRESQL_LDAP_SUFFIX POSTGRESQL_LDAP_SERVER
	POSTGRESQL_LDAP_PORT POSTGRESQL_LDAP_SCHEME POSTGRESQL_LDAP_TLS
	POSTGRESQL_LDAP_BASE_DN POSTGRESQL_LDAP_BIND_DN POSTGRESQL_LDAP_BIND_PASSWORD
	POSTGRESQL_LDAP_SEARCH_ATTR POSTGRESQL_LDAP_SEARCH_FILTER
	POSTGRESQL_INITSCRIPTS_USERNAME POSTGRESQL_PASSWORD POSTGRESQL_POSTGRES_PASSWORD
	POSTGRESQL_REPLICATION_PASSWORD POSTGRESQL_INITSCRIPTS_PASSWORD
	POSTGRESQL_ENABLE_TLS POSTGRESQL_TLS_CERT_FILE POSTGRESQL_TLS_KEY_FILE
	POSTGRESQL_TLS_CA_FILE POSTGRESQL_TLS_CRL_FILE POSTGRESQL_TLS_PREFER_SERVER_CIPHERS
	POSTGRESQL_SHARED_PRELOAD_LIBRARIES POSTGRESQL_PGAUDIT_LOG
	POSTGRESQL_PGAUDIT_LOG_CATALOG POSTGRESQL_PGAUDIT_LOG_PARAMETER
	POSTGRESQL_LOG_CONNECTIONS POSTGRESQL_LOG_DISCONNECTIONS POSTGRESQL_LOG_HOSTNAME
	POSTGRESQL_CLIENT_MIN_MESSAGES POSTGRESQL_LOG_LINE_PREFIX POSTGRESQL_LOG_TIMEZONE
	POSTGRESQL_TIMEZONE POSTGRESQL_MAX_CONNECTIONS POSTGRESQL_TCP_KEEPALIVES_IDLE
	POSTGRESQL_TCP_KEEPALIVES_INTERVAL POSTGRESQL_TCP_KEEPALIVES_COUNT
	POSTGRESQL_STATEMENT_TIMEOUT POSTGRESQL_PGHBA_REMOVE_FILTERS
	POSTGRESQL_USERNAME_CONNECTION_LIMIT POSTGRESQL_POSTGRES_CONNECTION_LIMIT
	POSTGRESQL_WAL_LEVEL POSTGRESQL_DEFAULT_TOAST_COMPRESSION
	POSTGRESQL_PASSWORD_ENCRYPTION POSTGRESQL_DEFAULT_TRANSACTION_ISOLATION
	POSTGRESQL_AUTOCTL_CONF_DIR POSTGRESQL_AUTOCTL_MODE POSTGRESQL_AUTOCTL_MONITOR_HOST
	POSTGRESQL_AUTOCTL_HOSTNAME REPMGR_DATA_DIR REPMGR_NODE_ID
	REPMGR_NODE_ID_START_SEED REPMGR_NODE_NAME REPMGR_NODE_NETWORK_NAME
	REPMGR_NODE_PRIORITY REPMGR_NODE_LOCATION REPMGR_NODE_TYPE REPMGR_PORT_NUMBER
	REPMGR_LOG_LEVEL REPMGR_USE_PGREWIND REPMGR_START_OPTIONS REPMGR_CONNECT_TIMEOUT
	REPMGR_RECONNECT_ATTEMPTS REPMGR_RECONNECT_INTERVAL REPMGR_PARTNER_NODES
	REPMGR_PRIMARY_HOST REPMGR_PRIMARY_PORT REPMGR_USE_REPLICATION_SLOTS
	REPMGR_MASTER_RESPONSE_TIMEOUT REPMGR_PRIMARY_VISIBILITY_CONSENSUS
	REPMGR_MONITORING_HISTORY REPMGR_MONITOR_INTERVAL_SECS
	REPMGR_DEGRADED_MONITORING_TIMEOUT REPMGR_UPGRADE_EXTENSION
	REPMGR_FENCE_OLD_PRIMARY REPMGR_FAILOVER REPMGR_CHILD_NODES_CHECK_INTERVAL
	REPMGR_CHILD_NODES_CONNECTED_MIN_COUNT REPMGR_CHILD_NODES_DISCONNECT_TIMEOUT
	REPMGR_SWITCH_ROLE REPMGR_USERNAME REPMGR_DATABASE REPMGR_PGHBA_TRUST_ALL
	REPMGR_PASSWORD REPMGR_USE_PASSFILE REPMGR_PASSFILE_PATH PGCONNECT_TIMEOUT
	POSTGRESQL_REPLICATION_PASSFILE_PATH`)

// envAlias is an older name the image reads when the newer one is unset.
type envAlias struct {
	name, of string
	line     int
}

// envAliases are the aliases of postgresql-env.sh:220-366. Each is read
// (and also has a NAME_FILE variant, lines 139-202) only when the name it
// stands for is unset: one name per setting keeps that precedence out.
var envAliases = []envAlias{
	{"POSTGRES_DATA_DIR", "POSTGRESQL_DATA_DIR", 220}, {"PGDATA", "POSTGRESQL_DATA_DIR", 221},
	{"POSTGRES_SHUTDOWN_MODE", "POSTGRESQL_SHUTDOWN_MODE", 246},
	{"POSTGRES_CLUSTER_APP_NAME", "POSTGRESQL_CLUSTER_APP_NAME", 248},
	{"POSTGRES_DATABASE", "POSTGRESQL_DATABASE", 250}, {"POSTGRES_DB", "POSTGRESQL_DATABASE", 251},
	{"POSTGRES_INITDB_ARGS", "POSTGRESQL_INITDB_ARGS", 253},
	{"POSTGRES_INITDB_WAL_DIR", "POSTGRESQL_INITDB_WAL_DIR", 256},
	{"POSTGRES_MASTER_HOST", "POSTGRESQL_MASTER_HOST", 258},
	{"POSTGRES_MASTER_PORT_NUMBER", "POSTGRESQL_MASTER_PORT_NUMBER", 260},
	{"POSTGRES_NUM_SYNCHRONOUS_REPLICAS", "POSTGRESQL_NUM_SYNCHRONOUS_REPLICAS", 262},
	{"POSTGRES_SYNCHRONOUS_REPLICAS_MODE", "POSTGRESQL_SYNCHRONOUS_REPLICAS_MODE", 264},
	{"POSTGRES_PORT_NUMBER", "POSTGRESQL_PORT_NUMBER", 266},
	{"POSTGRES_ALLOW_REMOTE_CONNECTIONS", "POSTGRESQL_ALLOW_REMOTE_CONNECTIONS", 268},
	{"POSTGRES_REPLICATION_MODE", "POSTGRESQL_REPLICATION_MODE", 270},
	{"POSTGRES_REPLICATION_USER", "POSTGRESQL_REPLICATION_USER", 272},
	{"POSTGRES_SYNCHRONOUS_COMMIT_MODE", "POSTGRESQL_SYNCHRONOUS_COMMIT_MODE", 274},
	{"POSTGRES_FSYNC", "POSTGRESQL_FSYNC", 276},
	{"POSTGRES_USERNAME", "POSTGRESQL_USERNAME", 278}, {"POSTGRES_USER", "POSTGRESQL_USERNAME", 279},
	{"POSTGRESQL_USER", "POSTGRESQL_USERNAME", 280},
	{"POSTGRES_ENABLE_LDAP", "POSTGRESQL_ENABLE_LDAP", 282},
	{"POSTGRES_LDAP_URL", "POSTGRESQL_LDAP_URL", 284},
	{"POSTGRES_LDAP_PREFIX", "POSTGRESQL_LDAP_PREFIX", 286},
	{"POSTGRES_LDAP_SUFFIX", "POSTGRESQL_LDAP_SUFFIX", 288},
	{"POSTGRES_LDAP_SERVER", "POSTGRESQL_LDAP_SERVER", 290},
	{"POSTGRES_LDAP_PORT", "POSTGRESQL_LDAP_PORT", 292},
	{"POSTGRES_LDAP_SCHEME", "POSTGRESQL_LDAP_SCHEME", 294},
	{"POSTGRES_LDAP_TLS", "POSTGRESQL_LDAP_TLS", 296},
	{"POSTGRES_LDAP_BASE_DN", "POSTGRESQL_LDAP_BASE_DN", 298},
	{"POSTGRES_LDAP_BIND_DN", "POSTGRESQL_LDAP_BIND_DN", 300},
	{"POSTGRES_LDAP_BIND_PASSWORD", "POSTGRESQL_LDAP_BIND_PASSWORD", 302},
	{"POSTGRES_LDAP_SEARCH_ATTR", "POSTGRESQL_LDAP_SEARCH_ATTR", 304},
	{"POSTGRES_LDAP_SEARCH_FILTER", "POSTGRESQL_LDAP_SEARCH_FILTER", 306},
	{"POSTGRES_INITSCRIPTS_USERNAME", "POSTGRESQL_INITSCRIPTS_USERNAME", 308},
	{"POSTGRES_PASSWORD", "POSTGRESQL_PASSWORD", 310},
	{"POSTGRES_POSTGRES_PASSWORD", "POSTGRESQL_POSTGRES_PASSWORD", 312},
	{"POSTGRES_REPLICATION_PASSWORD", "POSTGRESQL_REPLICATION_PASSWORD", 314},
	{"POSTGRES_INITSCRIPTS_PASSWORD", "POSTGRESQL_INITSCRIPTS_PASSWORD", 316},
	{"POSTGRES_ENABLE_TLS", "POSTGRESQL_ENABLE_TLS", 318},
	{"POSTGRES_TLS_CERT_FILE", "POSTGRESQL_TLS_CERT_FILE", 320},
	{"POSTGRES_TLS_KEY_FILE", "POSTGRESQL_TLS_KEY_FILE", 322},
	{"POSTGRES_TLS_CA_FILE", "POSTGRESQL_TLS_CA_FILE", 324},
	{"POSTGRES_TLS_CRL_FILE", "POSTGRESQL_TLS_CRL_FILE", 326},
	{"POSTGRES_TLS_PREFER_SERVER_CIPHERS", "POSTGRESQL_TLS_PREFER_SERVER_CIPHERS", 328},
	{"POSTGRES_SHARED_PRELOAD_LIBRARIES", "POSTGRESQL_SHARED_PRELOAD_LIBRARIES", 330},
	{"POSTGRES_PGAUDIT_LOG", "POSTGRESQL_PGAUDIT_LOG", 332},
	{"POSTGRES_PGAUDIT_LOG_CATALOG", "POSTGRESQL_PGAUDIT_LOG_CATALOG", 334},
	{"POSTGRES_PGAUDIT_LOG_PARAMETER", "POSTGRESQL_PGAUDIT_LOG_PARAMETER", 336},
	{"POSTGRES_LOG_CONNECTIONS", "POSTGRESQL_LOG_CONNECTIONS", 338},
	{"POSTGRES_LOG_DISCONNECTIONS", "POSTGRESQL_LOG_DISCONNECTIONS", 340},
	{"POSTGRES_LOG_HOSTNAME", "POSTGRESQL_LOG_HOSTNAME", 342},
	{"POSTGRES_CLIENT_MIN_MESSAGES", "POSTGRESQL_CLIENT_MIN_MESSAGES", 344},
	{"POSTGRES_LOG_LINE_PREFIX", "POSTGRESQL_LOG_LINE_PREFIX", 346},
	{"POSTGRES_LOG_TIMEZONE", "POSTGRESQL_LOG_TIMEZONE", 348},
	{"POSTGRES_TIMEZONE", "POSTGRESQL_TIMEZONE", 350},
	{"POSTGRES_MAX_CONNECTIONS", "POSTGRESQL_MAX_CONNECTIONS", 352},
	{"POSTGRES_TCP_KEEPALIVES_IDLE", "POSTGRESQL_TCP_KEEPALIVES_IDLE", 354},
	{"POSTGRES_TCP_KEEPALIVES_INTERVAL", "POSTGRESQL_TCP_KEEPALIVES_INTERVAL", 356},
	{"POSTGRES_TCP_KEEPALIVES_COUNT", "POSTGRESQL_TCP_KEEPALIVES_COUNT", 358},
	{"POSTGRES_STATEMENT_TIMEOUT", "POSTGRESQL_STATEMENT_TIMEOUT", 360},
	{"POSTGRES_PGHBA_REMOVE_FILTERS", "POSTGRESQL_PGHBA_REMOVE_FILTERS", 362},
	{"POSTGRES_USER_CONNECTION_LIMIT", "POSTGRESQL_USERNAME_CONNECTION_LIMIT", 364},
	{"POSTGRES_POSTGRES_CONNECTION_LIMIT", "POSTGRESQL_POSTGRES_CONNECTION_LIMIT", 366},
}

// HaupSetEnv lists every variable haup sets (or will set) in the database
// container from the inventory, sorted; database.environment may set none
// of them. desired/ tests that each variable it sets is listed here.
func HaupSetEnv() []string {
	var out []string
	for _, e := range envVars {
		if e.class == envHaup {
			out = append(out, e.name)
		}
	}
	// Secrets reach the container only as files.
	out = append(out, "REPMGR_PASSWORD_FILE", "POSTGRESQL_PASSWORD_FILE", "POSTGRESQL_POSTGRES_PASSWORD_FILE")
	for k := range libpqTLSEnv {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	envByName = func() map[string]*envVar {
		m := make(map[string]*envVar, len(envVars))
		for i := range envVars {
			m[envVars[i].name] = &envVars[i]
		}
		return m
	}()
	envAliasByName = func() map[string]envAlias {
		m := make(map[string]envAlias, len(envAliases))
		for _, a := range envAliases {
			m[a.name] = a
		}
		return m
	}()
	envHasFile = func() map[string]bool {
		m := make(map[string]bool, len(envFileVars)+len(envAliases))
		for _, n := range envFileVars {
			m[n] = true
		}
		for _, a := range envAliases {
			m[a.name] = true
		}
		return m
	}()
	// envKnown are all names the image reads, for did-you-mean hints.
	envKnown = func() []string {
		var out []string
		for _, e := range envVars {
			out = append(out, e.name)
		}
		for _, a := range envAliases {
			out = append(out, a.name)
		}
		for n := range envHasFile {
			out = append(out, n+"_FILE")
		}
		sort.Strings(out)
		return out
	}()
)

// envPrefixes are the image's namespaces: a name in them that the image
// does not read is a typo it would silently ignore.
var envPrefixes = []string{"REPMGR_", "POSTGRESQL_", "POSTGRES_"}

// checkEnv says what is wrong with setting name to val in
// database.environment, or "".
func checkEnv(name, val string) string {
	if libpqTLSEnv[name] {
		return "is set by haup from database.tls: libpq's TLS settings for every client in the container (repmgr, replication, the image's scripts)"
	}
	if e, ok := envByName[name]; ok {
		return e.problem(val)
	}
	if a, ok := envAliasByName[name]; ok {
		target := envByName[a.of]
		msg := fmt.Sprintf("the image reads it as %s when that is unset (%s:%d)", a.of, envSource, a.line)
		if target.class == envTuning {
			return msg + "; set " + a.of + " instead"
		}
		return msg + ", and " + a.of + " " + target.problem(val)
	}
	if base, ok := strings.CutSuffix(name, "_FILE"); ok && envHasFile[base] {
		if e, ok := envByName[base]; ok && e.class == envHaup && strings.Contains(base, "PASSWORD") {
			return e.problem("")
		}
		msg := fmt.Sprintf("the image reads %s from the file it names (%s:204-214)", base, envSource)
		if e, ok := envByName[base]; ok && e.class == envTuning {
			return msg + ", a file in the container haup does not mount; set " + base + " instead"
		}
		return msg + "; " + base + " " + checkEnv(base, "")
	}
	for _, p := range envPrefixes {
		if strings.HasPrefix(name, p) {
			msg := "is not a variable the image reads (" + envSource + "): it would be silently ignored"
			if s := closest(name, envKnown); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			return msg
		}
	}
	return ""
}

// problem says what is wrong with setting e to val.
func (e *envVar) problem(val string) string {
	src := fmt.Sprintf("%s:%d", envSource, e.line)
	switch e.class {
	case envHaup:
		if e.field != "" {
			return "is set by haup from the inventory; set " + e.field + " instead"
		}
		return "is set by haup (" + e.why + ")"
	case envBreaks:
		return "is refused: " + e.why + " (" + src + ")"
	case envNoEffect:
		return "has no effect: " + e.why + " (" + src + ")"
	}
	if strings.ContainsAny(val, `'\&`) {
		// postgresql_set_property writes name = 'value' with sed
		// (libpostgresql.sh:344-354), and repmgr.conf quotes values alike.
		return "contains ', \\ or &, which the image cannot write into the quoted setting of postgresql.conf or repmgr.conf"
	}
	if e.check(val) != "" {
		return fmt.Sprintf("must be %s, got %s", e.why, quote(val))
	}
	return ""
}

func anyValue(string) string { return "" }

// oneOf accepts exactly one of vals.
func oneOf(vals ...string) func(string) string {
	return func(s string) string {
		for _, v := range vals {
			if s == v {
				return ""
			}
		}
		return "not allowed"
	}
}

// intIn accepts a decimal integer within lo..hi.
func intIn(lo, hi int) func(string) string {
	return func(s string) string {
		n, err := strconv.Atoi(s)
		if err != nil || !decimalRe.MatchString(s) || n < lo || n > hi {
			return "out of range"
		}
		return ""
	}
}

// pgBool accepts PostgreSQL's spellings of a boolean.
func pgBool(s string) string {
	return oneOf("on", "off", "true", "false", "yes", "no", "1", "0")(strings.ToLower(s))
}

// initdbArgs refuses the initdb options the image or haup set themselves:
// the superuser's name, where the data and WAL go, and authentication.
// Long options may be abbreviated and short ones clustered, as getopt
// allows (initdb's "A:c:dD:E:gkL:nNsST:U:WX:").
func initdbArgs(s string) string {
	reserved := []string{"username", "pgdata", "waldir", "auth", "auth-host", "auth-local", "pwfile", "pwprompt"}
	for _, a := range strings.Fields(s) {
		if long, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ := strings.Cut(long, "=")
			for _, r := range reserved {
				if name != "" && strings.HasPrefix(r, name) {
					return "reserved"
				}
			}
			continue
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		for _, c := range a[1:] {
			if strings.ContainsRune("UDXAW", c) {
				return "reserved"
			}
			if strings.ContainsRune("cELT", c) {
				break
			}
		}
	}
	return ""
}
