#!/usr/bin/env bash
# haup's lab: N Debian nodes with systemd, sshd and Docker, as systemd-nspawn
# machines in their own network namespaces on a private bridge, plus a package
# mirror and a container registry on the host side of the bridge. Run through
# `haup lab ...`, which sets the variables below. Needs root.
#
# No lab traffic leaves the machine: the bridge has no NAT and the nodes have
# no route beyond the bridge's subnet.
set -euo pipefail

REPO=${HAUP_REPO:?}
LABDIR=${HAUP_LAB_DIR:-$REPO/.lab}
HAUP=${HAUP_BIN:?}
CACHE=${HAUP_LAB_CACHE:-/var/cache/haup-lab}
STATE=${HAUP_LAB_STATE:-/var/lib/haup-lab}
BRIDGE=haup-lab0
SUBNET=10.77.0
HOSTIP=$SUBNET.254
VIP=$SUBNET.100
MIRROR_PORT=8099
REGISTRY_PORT=5000
LAB_IMAGE=haup-lab/postgresql-repmgr:15
REG_IMAGE=$HOSTIP:$REGISTRY_PORT/haup/postgresql-repmgr:15
# A second tag of the same image, for rolling image changes.
REG_IMAGE_NEXT=$REG_IMAGE-next
BASE=$CACHE/node-rootfs
NODE_PACKAGES=systemd,systemd-sysv,dbus,iproute2,openssh-server,docker.io,iptables,ca-certificates,sudo,procps
# The keepalived the lab mirror serves (haup installs it with apt): vendored,
# 2.2.4 built from lab/vendor (the production nodes' version), or debian,
# Debian 12's 2.2.7. `up --keepalived` overrides it.
KEEPALIVED=${HAUP_LAB_KEEPALIVED:-vendored}

log() { echo "lab: $*" >&2; }
# now and took: the parts of `up` say how long they took (issue: a first
# lab on a fresh machine must be fast, and where its time goes must show).
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f s", b - a}'; }
die() { echo "lab: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces, systemd-nspawn)"

# The nodes are pg-0..pg-8 (.11-.19); the witness, when up, is witness-9 (.20).
WITNESS=witness-9
node_ip() { echo "$SUBNET.$((11 + ${1##*-}))"; }
node_ns() { echo "haup-$1"; }
node_root() { echo "$STATE/nodes/$1"; }
node_pidfile() { echo "$STATE/run/$1.pid"; }
nodes() { ls "$STATE/nodes" 2>/dev/null | sort -t- -k2 -n || true; }

# node_leader prints the PID of the node's systemd (PID 1 inside), the child
# of its systemd-nspawn process.
node_leader() {
  local pid
  pid=$(cat "$(node_pidfile "$1")" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  pgrep -P "$pid" | head -1
}

# node_kill ends a node at once, like a power cut. Killing the node's PID 1
# kills every process of its PID namespace, the containers' nested ones
# included; killing only systemd-nspawn would orphan them, still running.
node_kill() {
  local n=$1 pid leader
  pid=$(cat "$(node_pidfile "$n")" 2>/dev/null) || return 0
  leader=$(pgrep -P "$pid" | head -1 || true)
  [ -n "$leader" ] && kill -KILL "$leader" 2>/dev/null || true
  for _ in $(seq 1 100); do
    [ -n "$leader" ] && kill -0 "$leader" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$(node_pidfile "$n")"
}

mirror_url() {
  local m
  m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || die "no Debian mirror in this machine's apt configuration"
  echo "$m"
}

# base_rootfs makes the cached root filesystem every node is copied from.
base_rootfs() {
  if [ ! -f "$BASE/.haup-ready" ]; then
    if [ ! -f "$BASE.tmp/.haup-debootstrapped" ]; then
      log "debootstrap bookworm for the nodes (about a minute, cached afterwards)"
      rm -rf "$BASE.tmp"
      "$REPO/lab/debootstrap.sh" "$BASE.tmp" "$NODE_PACKAGES" "$CACHE/node-debootstrap.log" "$(mirror_url)" \
        || { tail -20 "$CACHE/node-debootstrap.log" >&2; die "debootstrap failed"; }
      touch "$BASE.tmp/.haup-debootstrapped"
    fi
    local r=$BASE.tmp
    # Nodes are fresh servers: no keepalived, sshd with key login for root,
    # Docker trusting the lab registry, apt pointing at the lab mirror.
    mkdir -p "$r/root/.ssh" "$r/etc/docker" "$r/etc/ssh/sshd_config.d"
    chmod 700 "$r/root/.ssh"
    printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' > "$r/etc/ssh/sshd_config.d/haup-lab.conf"
    printf '{"insecure-registries": ["%s:%s"]}\n' "$HOSTIP" "$REGISTRY_PORT" > "$r/etc/docker/daemon.json"
    rm -f "$r"/etc/ssh/ssh_host_*
    : > "$r/etc/machine-id"
    # Services a lab node does not need, which would only slow its boot.
    for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-networkd-wait-online.service; do
      ln -sf /dev/null "$r/etc/systemd/system/$u"
    done
    printf 'deb [trusted=yes] http://%s:%s/ ./\n' "$HOSTIP" "$MIRROR_PORT" > "$r/etc/apt/sources.list"
    rm -f "$r"/etc/apt/sources.list.d/* "$r"/var/lib/apt/lists/*_* 2>/dev/null || true
    touch "$r/.haup-ready"
    rm -rf "$BASE"
    mv "$r" "$BASE"
  fi
}

# make_mirror makes (or keeps) the package mirror the nodes install from,
# downloaded through a chroot of the base root filesystem: see mirror.sh.
make_mirror() {
  "$REPO/lab/mirror.sh" "$BASE" "$CACHE/mirror" "$KEEPALIVED" || die "the package mirror could not be made"
}

network_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$HOSTIP/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  # Bridged frames must not go through the host's iptables (Docker's
  # FORWARD policy would drop them).
  [ -w /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables || true
}

node_network() {
  local n=$1 ns veth
  ns=$(node_ns "$n")
  veth="hl-$n"
  if ! ip netns list | grep -qw "$ns"; then
    ip netns add "$ns"
  fi
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$BRIDGE" up
  fi
  ip -n "$ns" addr replace "$(node_ip "$n")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
}

ssh_material() {
  mkdir -p "$LABDIR" "$LABDIR/secrets"
  chmod 700 "$LABDIR" "$LABDIR/secrets"
  [ -f "$LABDIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C haup-lab -f "$LABDIR/id_ed25519"
  local s
  for s in postgres-password:24 repmgr-password:24; do
    local f=$LABDIR/secrets/${s%%:*}
    [ -s "$f" ] || (umask 077; set +o pipefail; LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "${s##*:}" > "$f")
  done
}

node_rootfs() {
  local n=$1 root
  root=$(node_root "$n")
  if [ ! -f "$root/.haup-node" ]; then
    log "$n: root filesystem"
    rm -rf "$root"
    mkdir -p "$(dirname "$root")"
    cp -a "$BASE" "$root.tmp"
    echo "$n" > "$root.tmp/etc/hostname"
    printf '127.0.0.1 localhost\n%s %s\n' "$(node_ip "$n")" "$n" > "$root.tmp/etc/hosts"
    ssh-keygen -q -t ed25519 -N '' -C "$n" -f "$root.tmp/etc/ssh/ssh_host_ed25519_key"
    touch "$root.tmp/.haup-node"
    mv "$root.tmp" "$root"
  fi
  install -m 600 "$LABDIR/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
}

boot() {
  local n=$1 root ns pid
  if node_leader "$n" >/dev/null; then return 0; fi
  root=$(node_root "$n")
  ns=$(node_ns "$n")
  mkdir -p "$STATE/run"
  SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 setsid systemd-nspawn -q -D "$root" --boot -M "$n" \
    --register=no --keep-unit --network-namespace-path="/run/netns/$ns" --capability=all \
    --system-call-filter='add_key keyctl request_key bpf' --property='DeviceAllow=char-* rwm' \
    </dev/null >"$STATE/run/$n.log" 2>&1 &
  pid=$!
  echo "$pid" > "$(node_pidfile "$n")"
}

wait_node() {
  local n=$1 leader state i
  for i in $(seq 1 240); do
    if leader=$(node_leader "$n"); then
      state=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null || true)
      if [ "$state" = running ] || [ "$state" = degraded ]; then
        if nsenter -t "$leader" -a docker info >/dev/null 2>&1; then
          return 0
        fi
      fi
    else
      [ "$i" -gt 10 ] && die "$n: systemd-nspawn exited; see $STATE/run/$n.log"
    fi
    sleep 0.5
  done
  die "$n: did not finish booting in 120 s (state ${state:-unknown}); see $STATE/run/$n.log"
}

detached() {
  local name=$1; shift
  local pidfile=$STATE/run/$name.pid
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  mkdir -p "$STATE/run"
  setsid "$@" </dev/null >"$STATE/run/$name.log" 2>&1 &
  echo $! > "$pidfile"
}

services_up() {
  detached mirror "$HAUP" lab serve-mirror --dir "$CACHE/mirror" --listen "$HOSTIP:$MIRROR_PORT"
  mkdir -p "$CACHE/registry"
  cat > "$STATE/run/registry.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $CACHE/registry
http:
  addr: $HOSTIP:$REGISTRY_PORT
log:
  level: warn
EOF
  detached registry docker-registry serve "$STATE/run/registry.yml"
  local i
  for i in $(seq 1 50); do
    (exec 3<>"/dev/tcp/$HOSTIP/$REGISTRY_PORT") 2>/dev/null && (exec 3<>"/dev/tcp/$HOSTIP/$MIRROR_PORT") 2>/dev/null && return 0
    sleep 0.2
  done
  die "registry or mirror did not start; see $STATE/run/registry.log and mirror.log"
}

push_image() {
  "$REPO/scripts/host-dockerd.sh"
  HAUP_LAB_IMAGE=$LAB_IMAGE "$REPO/labimage/build.sh"
  local want have
  want=$(docker image inspect -f '{{.Id}}' "$LAB_IMAGE")
  have=$(cat "$CACHE/registry.pushed" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    log "pushing the lab image to the lab registry"
    docker tag "$LAB_IMAGE" "$REG_IMAGE"
    docker push -q "$REG_IMAGE" >/dev/null
    docker tag "$LAB_IMAGE" "$REG_IMAGE_NEXT"
    docker push -q "$REG_IMAGE_NEXT" >/dev/null
    echo "$want" > "$CACHE/registry.pushed"
  fi
}

write_inventory() {
  local count=$1 i n kh=$LABDIR/known_hosts
  : > "$kh.tmp"
  for n in $(nodes); do
    echo "$(node_ip "$n") $(cut -d' ' -f1,2 "$(node_root "$n")/etc/ssh/ssh_host_ed25519_key.pub")" >> "$kh.tmp"
  done
  chmod 600 "$kh.tmp"
  mv "$kh.tmp" "$kh"
  {
    cat <<EOF
# Written by \`haup lab up\`: the local lab cluster. Timings are haup's defaults.
keepalived:
  virtual_ipaddress: $VIP/24
  virtual_router_id: 51
  interface: eth0
database:
  image: $REG_IMAGE
  container_name: pg
  data_dir: /var/lib/haup-pg
  primary: pg-0
  postgres_password: {file: secrets/postgres-password}
  repmgr_password: {file: secrets/repmgr-password}
ssh:
  user: root
  identity_files: [id_ed25519]
  agent: false
  known_hosts: known_hosts
nodes:
EOF
    for i in $(seq 0 $((count - 1))); do
      printf '  - name: pg-%d\n    address: %s\n    priority: %d\n' "$i" "$(node_ip "pg-$i")" $((100 - 10 * i))
    done
  } > "$LABDIR/inventory.yaml"
  # With a witness node: the same cluster with the witness, in a second
  # inventory (haup apply with it adds the witness to a running pair).
  if [ -d "$(node_root "$WITNESS")" ]; then
    { sed 's/^# Written by .*/&\n# With the witness node./' "$LABDIR/inventory.yaml"
      printf 'witness:\n  name: %s\n  address: %s\n' "$WITNESS" "$(node_ip "$WITNESS")"
    } > "$LABDIR/inventory-witness.yaml"
  else
    rm -f "$LABDIR/inventory-witness.yaml"
  fi
}

cmd_up() {
  local count=2 witness= no_cache= start part
  start=$(now)
  while [ $# -gt 0 ]; do
    case $1 in
      --nodes) count=$2; shift 2 ;;
      --witness) witness=1; shift ;;
      --keepalived) KEEPALIVED=$2; shift 2 ;;
      --no-cache) no_cache=1; shift ;;
      *) die "up: unknown option $1" ;;
    esac
  done
  [[ $count =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 9 ] || die "--nodes takes 1..9"
  case $KEEPALIVED in vendored|debian) ;; *) die "--keepalived (HAUP_LAB_KEEPALIVED) takes vendored or debian, not '$KEEPALIVED'" ;; esac
  local existing
  existing=$(nodes | grep -c '^pg-' || true)
  if [ "$existing" -gt 0 ] && [ "$existing" -ne "$count" ]; then
    die "a lab with $existing nodes exists; run \`haup lab down\` first"
  fi
  if [ -n "$no_cache" ]; then
    # Every cache: the root filesystems, build roots, compiled programs,
    # the keepalived package, the mirror and the registry, and the image.
    [ -z "$(nodes)" ] || die "--no-cache: the lab is up; run \`haup lab down\` first"
    case $CACHE in /?*) ;; *) die "--no-cache: the cache HAUP_LAB_CACHE=$CACHE is not an absolute directory below /; not removing it" ;; esac
    log "--no-cache: removing $CACHE and the lab image"
    rm -rf "${CACHE:?}"
    docker image rm -f "$LAB_IMAGE" "$REG_IMAGE" "$REG_IMAGE_NEXT" >/dev/null 2>&1 || true
    log "caches removed in $(took "$start")"
    start=$(now)
  fi
  mkdir -p "$CACHE" "$STATE/nodes" "$STATE/run"
  # The lab image (two debootstraps and the compiles) and the keepalived
  # package (a debootstrap and a compile) share nothing with the nodes' root
  # file system: they build beside it.
  "$REPO/scripts/host-dockerd.sh"
  local image_log=$CACHE/image-build.log image_pid ka_log=$CACHE/keepalived-up.log ka_pid=
  log "building the lab image beside the nodes' root file system (log: $image_log)"
  (part=$(now); HAUP_LAB_IMAGE=$LAB_IMAGE "$REPO/labimage/build.sh" >"$image_log" 2>&1 && log "lab image: $(took "$part")") &
  image_pid=$!
  if [ "$KEEPALIVED" = vendored ]; then
    (part=$(now); "$REPO/lab/keepalived/build.sh" >/dev/null 2>"$ka_log" && log "keepalived package: $(took "$part")") &
    ka_pid=$!
  fi
  part=$(now)
  base_rootfs
  log "nodes' root filesystem: $(took "$part")"
  if [ -n "$ka_pid" ] && ! wait "$ka_pid"; then
    tail -30 "$ka_log" >&2
    die "the keepalived package did not build; see $ka_log"
  fi
  part=$(now)
  make_mirror
  log "package mirror: $(took "$part")"
  network_up
  services_up
  if ! wait "$image_pid"; then
    tail -30 "$image_log" >&2
    die "the lab image did not build; see $image_log"
  fi
  part=$(now)
  push_image
  log "image in the lab registry: $(took "$part")"
  ssh_material
  local i all=()
  for i in $(seq 0 $((count - 1))); do
    all+=("pg-$i")
  done
  # A witness, once up, stays up with the lab (until down).
  if [ -n "$witness" ] || [ -d "$(node_root "$WITNESS")" ]; then
    all+=("$WITNESS")
  fi
  part=$(now)
  for n in "${all[@]}"; do
    node_network "$n"
    node_rootfs "$n"
    boot "$n"
  done
  for n in "${all[@]}"; do
    wait_node "$n"
  done
  log "nodes booted: $(took "$part")"
  write_inventory "$count"
  if [ -f "$LABDIR/inventory-witness.yaml" ]; then
    log "ready in $(took "$start"): $count nodes and the witness $WITNESS; inventories $LABDIR/inventory.yaml and $LABDIR/inventory-witness.yaml"
  else
    log "ready in $(took "$start"): $count nodes; inventory $LABDIR/inventory.yaml"
  fi
}

cmd_down() {
  local n pid
  for n in $(nodes); do
    node_kill "$n"
    ip netns del "$(node_ns "$n")" 2>/dev/null || true
    ip link del "hl-$n" 2>/dev/null || true
    rm -rf "$(node_root "$n")"
  done
  for n in mirror registry; do
    if pid=$(cat "$STATE/run/$n.pid" 2>/dev/null); then kill "$pid" 2>/dev/null || true; fi
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$STATE" "$LABDIR"
  log "down"
}

cmd_status() {
  local n leader
  if [ -z "$(nodes)" ]; then echo "no lab"; return 0; fi
  printf '%-6s %-12s %-8s %s\n' NODE ADDRESS STATE VIP
  for n in $(nodes); do
    local st=off vip=""
    if leader=$(node_leader "$n"); then
      st=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null || true)
    fi
    ip -n "$(node_ns "$n")" -4 -o addr show 2>/dev/null | grep -q " $VIP/" && vip=yes
    printf '%-6s %-12s %-8s %s\n' "$n" "$(node_ip "$n")" "$st" "$vip"
  done
  echo "inventory: $LABDIR/inventory.yaml"
}

need_node() { [ -d "$(node_root "$1")" ] || die "no node $1 (see haup lab status)"; }

cmd_power_off() {
  need_node "$1"
  node_leader "$1" >/dev/null || die "$1 is not running"
  # The link goes first, as when a server loses power: not one packet
  # more, so no connection reset from its dying processes tells the others
  # it is gone. The namespace outlives the node: its addresses (the VIP
  # too, if it held it) go as well.
  ip -n "$(node_ns "$1")" link set eth0 down
  node_kill "$1"
  ip -n "$(node_ns "$1")" addr flush dev eth0
  log "$1 powered off"
}

cmd_power_on() {
  need_node "$1"
  node_network "$1"
  boot "$1"
  wait_node "$1"
  log "$1 powered on"
}

cmd_cut() {
  need_node "$1"; need_node "$2"
  ip -n "$(node_ns "$1")" route replace blackhole "$(node_ip "$2")/32"
  ip -n "$(node_ns "$2")" route replace blackhole "$(node_ip "$1")/32"
  log "network between $1 and $2 cut"
}

# db_rules ACTION A B adds (-I) or deletes (-D) the rules that drop
# PostgreSQL between the two nodes' own addresses: the database network cut,
# while the VIP (the clients' way in) and VRRP still pass.
db_rules() {
  local act=$1 a=$2 b=$3 ns ip peer
  for pair in "$a $b" "$b $a"; do
    set -- $pair
    ns=$(node_ns "$1"); ip=$(node_ip "$1"); peer=$(node_ip "$2")
    ip netns exec "$ns" iptables "$act" INPUT -s "$peer" -d "$ip" -p tcp --dport 5432 -j DROP || return 1
    ip netns exec "$ns" iptables "$act" OUTPUT -s "$ip" -d "$peer" -p tcp --dport 5432 -j DROP || return 1
  done
}

# all_rules ACTION FROM TO [both] adds (-I) or deletes (-D) the rules that
# drop every packet FROM sends TO (and, with both, the way back), in both
# namespaces: VRRP adverts and traffic to the VIP included.
all_rules() {
  local act=$1 a=$2 b=$3 both=${4:-}
  local pairs="$a $b"
  [ -n "$both" ] && pairs="$a $b
$b $a"
  while read -r from to; do
    ip netns exec "$(node_ns "$from")" iptables "$act" OUTPUT -d "$(node_ip "$to")" -j DROP || return 1
    ip netns exec "$(node_ns "$to")" iptables "$act" INPUT -s "$(node_ip "$from")" -j DROP || return 1
  done <<<"$pairs"
}

cmd_cut_all() {
  need_node "$1"; need_node "$2"
  if [ "${3:-}" = one-way ]; then
    all_rules -I "$1" "$2" || die "iptables failed"
    log "every packet from $1 to $2 dropped (one way; $2 to $1 still passes)"
  else
    all_rules -I "$1" "$2" both || die "iptables failed"
    log "every packet between $1 and $2 dropped (VRRP and the VIP too)"
  fi
}

cmd_cut_db() {
  need_node "$1"; need_node "$2"
  db_rules -I "$1" "$2" || die "iptables failed"
  log "PostgreSQL between the addresses of $1 and $2 cut (the VIP and VRRP still pass)"
}

cmd_restore() {
  need_node "$1"; need_node "$2"
  ip -n "$(node_ns "$1")" route del blackhole "$(node_ip "$2")/32" 2>/dev/null || true
  ip -n "$(node_ns "$2")" route del blackhole "$(node_ip "$1")/32" 2>/dev/null || true
  while db_rules -D "$1" "$2" 2>/dev/null; do :; done
  while all_rules -D "$1" "$2" 2>/dev/null; do :; done
  while all_rules -D "$2" "$1" 2>/dev/null; do :; done
  log "network between $1 and $2 restored"
}

cmd_signal() {
  local sig=$1 node=$2 pattern=$3 leader
  need_node "$node"
  leader=$(node_leader "$node") || die "$node is not running"
  nsenter -t "$leader" -a pkill "-$sig" -f -- "$pattern" || die "no process matching '$pattern' on $node"
}

cmd_exec() {
  local node=$1 leader; shift
  need_node "$node"
  leader=$(node_leader "$node") || die "$node is not running"
  [ "${1:-}" = "--" ] && shift
  exec nsenter -t "$leader" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
}

sub=${1:-}; shift || true
case $sub in
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  power-off) cmd_power_off "$1" ;;
  power-on) cmd_power_on "$1" ;;
  cut) case ${3:-} in
         --db-only) cmd_cut_db "$1" "$2" ;;
         --all) cmd_cut_all "$1" "$2" ;;
         --one-way) cmd_cut_all "$1" "$2" one-way ;;
         *) cmd_cut "$1" "$2" ;;
       esac ;;
  restore) cmd_restore "$1" "$2" ;;
  freeze) cmd_signal STOP "$1" "$2" ;;
  thaw) cmd_signal CONT "$1" "$2" ;;
  exec) cmd_exec "$@" ;;
  *) die "unknown command: $sub" ;;
esac
