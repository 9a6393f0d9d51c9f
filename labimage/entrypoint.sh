#!/bin/bash
# Entrypoint of haup's lab database image: PostgreSQL 15 + repmgr +
# TimescaleDB behind the part of the bitnami postgresql-repmgr environment
# contract that haup uses.
# It runs as UID 1001 with data under /bitnami/postgresql, like bitnami's.
set -euo pipefail

log() { printf '%s haup-lab-db %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "error: $*"; exit 1; }

# secret NAME: the value of $NAME, or of the file named by $NAME_FILE.
secret() {
  local name=$1 file_var="${1}_FILE"
  if [ -n "${!file_var:-}" ]; then
    [ -r "${!file_var}" ] || die "$file_var: cannot read ${!file_var}"
    tr -d '\r\n' < "${!file_var}"
  else
    printf '%s' "${!name:-}"
  fi
}

PGBIN=/usr/lib/postgresql/15/bin
export PATH="$PGBIN:$PATH"
BASE=/bitnami/postgresql
PGDATA=$BASE/data
RUN=/opt/haup/run
CONF=$RUN/repmgr.conf
REPMGRD_PIDFILE=$RUN/repmgrd.pid
export HOME=$RUN PGPASSFILE=$RUN/.pgpass

PORT=${POSTGRESQL_PORT_NUMBER:-5432}
REPMGR_PORT=${REPMGR_PORT_NUMBER:-$PORT}
REPMGR_USER=${REPMGR_USERNAME:-repmgr}
REPMGR_DB=${REPMGR_DATABASE:-repmgr}
PRIMARY_HOST=${REPMGR_PRIMARY_HOST:?REPMGR_PRIMARY_HOST is required}
PRIMARY_PORT=${REPMGR_PRIMARY_PORT:-$REPMGR_PORT}
SELF=${REPMGR_NODE_NETWORK_NAME:?REPMGR_NODE_NETWORK_NAME is required}
NODE_NAME=${REPMGR_NODE_NAME:?REPMGR_NODE_NAME is required}
[[ $NODE_NAME =~ ^.*-([0-9]+)$ ]] || die "REPMGR_NODE_NAME must match ^.*-[0-9]+\$, got $NODE_NAME"
NODE_ID=$((BASH_REMATCH[1] + 1000))
ATTEMPTS=${REPMGR_RECONNECT_ATTEMPTS:-3}
INTERVAL=${REPMGR_RECONNECT_INTERVAL:-5}
CONNECT_TIMEOUT=${REPMGR_CONNECT_TIMEOUT:-5}
MONITOR=${REPMGR_MONITOR_INTERVAL_SECS:-2}
# data (a primary or standby) or witness: a PostgreSQL of its own, with no
# user data, that holds a copy of repmgr's metadata and gives repmgrd a third
# vote (bitnami's REPMGR_NODE_TYPE).
NODE_TYPE=${REPMGR_NODE_TYPE:-data}
case $NODE_TYPE in data|witness) ;; *) die "REPMGR_NODE_TYPE must be data or witness, got $NODE_TYPE" ;; esac
REPMGR_PASSWORD=$(secret REPMGR_PASSWORD)
[ -n "$REPMGR_PASSWORD" ] || die "REPMGR_PASSWORD or REPMGR_PASSWORD_FILE is required"
# With POSTGRESQL_USERNAME left at postgres (haup's case) POSTGRESQL_PASSWORD
# is the postgres password; POSTGRESQL_POSTGRES_PASSWORD is taken when given.
PG_PASSWORD=$(secret POSTGRESQL_POSTGRES_PASSWORD)
[ -n "$PG_PASSWORD" ] || PG_PASSWORD=$(secret POSTGRESQL_PASSWORD)
IFS=',' read -r -a PARTNERS <<< "${REPMGR_PARTNER_NODES:-}"

# preload_libraries: repmgr first, then POSTGRESQL_SHARED_PRELOAD_LIBRARIES,
# then timescaledb, as bitnami's repmgr scripts and TimescaleDB's bitnami
# wrapper compose them (bitnami's default list, pgaudit, is not in this
# image, so the default here is empty). Each library appears once.
preload_libraries() {
  local extra lib out=() seen=" " libs
  extra=$(secret POSTGRESQL_SHARED_PRELOAD_LIBRARIES)
  [ -n "$extra" ] || extra=${POSTGRES_SHARED_PRELOAD_LIBRARIES:-}
  IFS=',' read -r -a libs <<< "repmgr,$extra,timescaledb"
  for lib in "${libs[@]}"; do
    lib=${lib//[[:space:]]/}
    [ -n "$lib" ] && [[ $seen != *" $lib "* ]] || continue
    seen+="$lib "
    out+=("$lib")
  done
  (IFS=','; echo "${out[*]}")
}
PRELOAD=$(preload_libraries)

mkdir -p "$RUN" "$BASE"
umask 077
printf '*:*:%s:%s:%s\n*:*:replication:%s:%s\n' "$REPMGR_DB" "$REPMGR_USER" "$REPMGR_PASSWORD" "$REPMGR_USER" "$REPMGR_PASSWORD" > "$PGPASSFILE"

cat > "$CONF" <<EOF
node_id=$NODE_ID
node_name='$NODE_NAME'
conninfo='host=$SELF port=$REPMGR_PORT user=$REPMGR_USER dbname=$REPMGR_DB connect_timeout=$CONNECT_TIMEOUT'
data_directory='$PGDATA'
pg_bindir='$PGBIN'
use_replication_slots=no
failover=automatic
promote_command='$PGBIN/repmgr standby promote -f $CONF --log-to-file'
follow_command='$PGBIN/repmgr standby follow -f $CONF --log-to-file --upstream-node-id=%n'
reconnect_attempts=$ATTEMPTS
reconnect_interval=$INTERVAL
monitor_interval_secs=$MONITOR
connection_check_type=ping
primary_visibility_consensus=yes
promote_check_interval=1
log_level=INFO
EOF

# find_primary prints the address of a partner (not this node) whose database
# answers as a writable primary with repmgr's metadata installed (a new
# primary is not one until it has registered: a standby cloned earlier would
# have no repmgr extension to register with).
find_primary() {
  local p host
  for p in "${PARTNERS[@]}"; do
    host=${p%%:*}
    [ -n "$host" ] && [ "$host" != "$SELF" ] || continue
    if [ "$(PGCONNECT_TIMEOUT=$CONNECT_TIMEOUT psql -w -h "$host" -p "$REPMGR_PORT" -U "$REPMGR_USER" -d "$REPMGR_DB" -tAc "SELECT NOT pg_is_in_recovery() AND to_regclass('repmgr.nodes') IS NOT NULL AND current_setting('cluster_name') <> 'witness'" 2>/dev/null)" = t ]; then
      echo "$host"
      return 0
    fi
  done
  return 1
}

write_pg_config() {
  cat > "$PGDATA/postgresql.conf" <<EOF
listen_addresses = '*'
port = $PORT
unix_socket_directories = '/tmp'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
wal_log_hints = on
wal_keep_size = '256MB'
shared_preload_libraries = '$PRELOAD'
# TimescaleDB: no telemetry (the lab has no route out anyway); 8 workers for
# its jobs, and room for them plus its launcher, parallel queries and spares.
timescaledb.telemetry_level = off
timescaledb.max_background_workers = 8
max_worker_processes = 20
password_encryption = 'scram-sha-256'
log_destination = 'stderr'
logging_collector = off
cluster_name = '$NODE_TYPE'
log_line_prefix = '%m [%p] '
EOF
  cat > "$PGDATA/pg_hba.conf" <<EOF
local all all trust
host replication $REPMGR_USER 0.0.0.0/0 scram-sha-256
host all all 0.0.0.0/0 scram-sha-256
EOF
}

pg_running() { pg_ctl -D "$PGDATA" status >/dev/null 2>&1; }

start_pg() {
  # The server logs to the container's output (PID 1's stdout).
  pg_ctl -D "$PGDATA" -w -t 60 -l /proc/1/fd/1 start >/dev/null
}

# init_cluster creates a new cluster with the postgres password, starts it
# and adds the repmgr role and database: a new primary's start, and a
# witness's whole database.
init_cluster() {
  local pw=$RUN/.initpw
  printf '%s' "$PG_PASSWORD" > "$pw"
  initdb -D "$PGDATA" -U postgres --pwfile="$pw" -A scram-sha-256 >/dev/null
  rm -f "$pw"
  write_pg_config
  start_pg
  psql -v ON_ERROR_STOP=1 -h /tmp -p "$PORT" -U postgres -d postgres -q \
    -v user="$REPMGR_USER" -v pass="$REPMGR_PASSWORD" -v db="$REPMGR_DB" <<'EOF'
CREATE ROLE :"user" WITH LOGIN SUPERUSER REPLICATION PASSWORD :'pass';
CREATE DATABASE :"db" OWNER :"user";
EOF
}

init_primary() {
  log "initialising a new cluster as the primary ($NODE_NAME, id $NODE_ID)"
  init_cluster
  repmgr -f "$CONF" primary register --force
  # As the TimescaleDB bitnami image's init script does, once the repmgr
  # database exists: the extension in postgres and in template1, so every
  # database created later has it (the template's scheduler logs that it
  # exits: TimescaleDB runs no jobs in template databases).
  local db
  for db in postgres template1; do
    PGOPTIONS='-c client_min_messages=error' psql -v ON_ERROR_STOP=1 -h /tmp -p "$PORT" -U postgres -d "$db" -q \
      -c 'CREATE EXTENSION IF NOT EXISTS timescaledb CASCADE'
  done
}

clone_standby() {
  local primary=$1
  log "cloning a standby of $primary"
  rm -rf "$PGDATA.old"
  [ -d "$PGDATA" ] && mv "$PGDATA" "$PGDATA.old"
  # A clone can fail on a passing problem (a connection to a busy primary
  # timing out): it is tried 3 times, INTERVAL apart, before the container
  # gives up (and its restart policy, if any, starts it again).
  local try=1
  while true; do
    rm -rf "$PGDATA"
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    # The upstream is named explicitly: left to itself, repmgr 5.3 may write
    # the node's own address into primary_conninfo when re-cloning an old
    # primary, and the standby then never streams.
    repmgr -h "$primary" -p "$PRIMARY_PORT" -U "$REPMGR_USER" -d "$REPMGR_DB" -f "$CONF" standby clone --fast-checkpoint \
      --upstream-conninfo="host=$primary port=$PRIMARY_PORT user=$REPMGR_USER application_name=$NODE_NAME connect_timeout=$CONNECT_TIMEOUT" \
      && break
    [ "$try" -lt 3 ] || die "cloning a standby of $primary failed $try times"
    log "cloning a standby of $primary failed; trying again in ${INTERVAL}s"
    try=$((try + 1))
    sleep "$INTERVAL"
  done
  write_pg_config
  start_pg
  # Bounded: repmgr's own --wait-sync was seen to hang for minutes.
  timeout 30 repmgr -f "$CONF" standby register --force || log "standby register failed; repmgrd will retry monitoring"
  rm -rf "$PGDATA.old"
}

# start_repmgrd starts repmgrd in the background, in the foreground's
# stead. Its pid file is removed first: a container killed and started again
# keeps /tmp, and repmgrd refuses to start while the pid in that file is a
# live process, which in the container's new pid namespace may well be one
# of PostgreSQL's (then it would never start; `haup status` showed it as
# "repmgrd is not running" for minutes). No other repmgrd runs here.
start_repmgrd() {
  rm -f "$REPMGRD_PIDFILE"
  repmgrd -f "$CONF" --daemonize=false --pid-file "$REPMGRD_PIDFILE" &
}

stop_all() {
  log "stopping"
  [ -n "${REPMGRD_PID:-}" ] && kill "$REPMGRD_PID" 2>/dev/null || true
  pg_ctl -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  exit 0
}
trap stop_all TERM INT

# init_witness creates the witness's own small cluster: the repmgr role and
# database, no user data. `repmgr witness register` then copies repmgr's
# metadata from the primary.
init_witness() {
  log "initialising the witness ($NODE_NAME, id $NODE_ID)"
  init_cluster
}

if [ "$NODE_TYPE" = witness ]; then
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    init_witness
  else
    log "starting the witness on its existing data"
    write_pg_config
    start_pg
  fi
  log "waiting for a primary among ${REPMGR_PARTNER_NODES:-} to register with"
  until primary=$(find_primary); do sleep 2; done
  # --force: a witness re-registers after a restart or a failover.
  until repmgr -f "$CONF" witness register -h "$primary" -p "$PRIMARY_PORT" -U "$REPMGR_USER" -d "$REPMGR_DB" --force; do
    log "witness register with $primary failed; trying again in ${INTERVAL}s"
    sleep "$INTERVAL"
    primary=$(find_primary || echo "$primary")
  done
  # repmgrd on a witness watches the primary, answers the standbys' "has
  # the primary been seen?" during a failover, and follows a new primary.
  while true; do
    log "starting repmgrd (witness)"
    start_repmgrd
    REPMGRD_PID=$!
    wait "$REPMGRD_PID" || true
    REPMGRD_PID=
    log "repmgrd exited"
    sleep "$INTERVAL"
    pg_running || die "PostgreSQL is not running"
  done
fi

primary=$(find_primary || true)
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "$primary" ]; then
    clone_standby "$primary"
  elif [ "$SELF" = "$PRIMARY_HOST" ]; then
    init_primary
  else
    log "waiting for a primary among ${REPMGR_PARTNER_NODES:-}"
    until primary=$(find_primary); do sleep 2; done
    clone_standby "$primary"
  fi
elif [ -n "$primary" ]; then
  # Another node is primary. A standby that follows it starts as it is;
  # anything else (this node's old primary, a standby of someone else) is
  # cloned again from the current primary, as the bitnami image does.
  if [ -f "$PGDATA/standby.signal" ] && grep -q "host=$primary " "$PGDATA/postgresql.auto.conf" 2>/dev/null; then
    log "starting as a standby of $primary"
    write_pg_config
    start_pg
  else
    log "$primary is the primary now: rejoining as its standby"
    clone_standby "$primary"
  fi
else
  # No other primary answers: start on the existing data. An old primary
  # starts as a primary here, on its old timeline (the split-brain path that
  # haup's health check guards against).
  log "no other primary found: starting on the existing data"
  write_pg_config
  start_pg
  if [ ! -f "$PGDATA/standby.signal" ]; then
    repmgr -f "$CONF" primary register --force >/dev/null 2>&1 || true
  fi
fi

# supervise keeps repmgrd running for as long as PostgreSQL runs. repmgrd
# refuses to start while its upstream is unreachable, and exits in a few other
# cases: it is restarted rather than taking the database down with it. A
# standby that finds no primary anywhere for reconnect_attempts x
# reconnect_interval promotes itself, as repmgrd would have done had it been
# running when the primary was lost.
is_standby() { [ "$(psql -h /tmp -p "$PORT" -U postgres -tAc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]; }

# is_paused: failover is paused on this node (a switchover's
# repmgr.repmgrd_pause), which repmgrd honours too.
is_paused() { [ "$(psql -h /tmp -p "$PORT" -U postgres -d "$REPMGR_DB" -tAc 'SELECT repmgr.repmgrd_is_paused()' 2>/dev/null)" = t ]; }

# witness_vetoes: with a witness registered, this standby may promote itself
# only as repmgrd would, with a majority: the witness's database must answer
# and must not have seen the primary within reconnect_attempts x
# reconnect_interval.
witness_vetoes() {
  local conninfo host seen
  conninfo=$(psql -h /tmp -p "$PORT" -U postgres -d "$REPMGR_DB" -tAc "SELECT conninfo FROM repmgr.nodes WHERE type = 'witness' AND active LIMIT 1" 2>/dev/null || true)
  [ -n "$conninfo" ] || return 1
  host=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<< "$conninfo")
  seen=$(PGCONNECT_TIMEOUT=$CONNECT_TIMEOUT psql -w -h "$host" -p "$REPMGR_PORT" -U "$REPMGR_USER" -d "$REPMGR_DB" -tAc 'SELECT repmgr.get_upstream_last_seen()' 2>/dev/null || true)
  if [ -z "$seen" ]; then
    log "no primary reachable, but the witness $host does not answer either: no majority, not promoting"
    return 0
  fi
  if [ "$seen" -ge 0 ] && [ "$seen" -lt $((ATTEMPTS * INTERVAL)) ]; then
    log "no primary reachable from here, but the witness saw it ${seen}s ago: not promoting"
    return 0
  fi
  return 1
}

lost=0
while true; do
  log "starting repmgrd"
  start_repmgrd
  REPMGRD_PID=$!
  wait "$REPMGRD_PID" || true
  REPMGRD_PID=
  log "repmgrd exited"
  sleep "$INTERVAL"
  if ! pg_running; then
    sleep 2
    pg_running || die "PostgreSQL is not running"
  fi
  if is_standby && ! find_primary >/dev/null; then
    lost=$((lost + INTERVAL))
    if [ "$lost" -ge $(( (ATTEMPTS > 0 ? ATTEMPTS : 1) * INTERVAL)) ] && is_paused; then
      log "no primary reachable for ${lost}s, but failover is paused here (repmgr.repmgrd_pause): not promoting"
    elif [ "$lost" -ge $(( (ATTEMPTS > 0 ? ATTEMPTS : 1) * INTERVAL)) ] && ! witness_vetoes; then
      log "no primary reachable for ${lost}s: promoting this standby"
      repmgr -f "$CONF" standby promote || log "promotion failed"
      lost=0
    fi
  else
    lost=0
  fi
done
