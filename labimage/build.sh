#!/usr/bin/env bash
# Builds haup's lab database image, haup-lab/postgresql-repmgr:15, from Debian
# packages only: a debootstrap root filesystem with postgresql-15 and
# postgresql-15-repmgr plus entrypoint.sh, imported with `docker import`.
# No container registry is involved. The root filesystem is cached, and the
# image is rebuilt only when its inputs change (a label carries their hash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
IMAGE=${HAUP_LAB_IMAGE:-haup-lab/postgresql-repmgr:15}
CACHE=${HAUP_LAB_CACHE:-/var/cache/haup-lab}
ROOTFS=$CACHE/db-rootfs
PACKAGES=postgresql-15,postgresql-15-repmgr,iproute2,procps,ca-certificates

log() { echo "labimage: $*" >&2; }

# The Debian mirror is whatever this machine's apt uses.
mirror() {
  local m
  m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || { log "no Debian mirror in the apt configuration"; exit 1; }
  echo "$m"
}

hash=$( (echo "$PACKAGES"; cat "$here/entrypoint.sh" "$0") | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "io.haup.inputs"}}' "$IMAGE" 2>/dev/null)" = "$hash" ]; then
  log "$IMAGE is up to date"
  exit 0
fi

mkdir -p "$CACHE"
if [ ! -f "$ROOTFS/.haup-packages" ] || [ "$(cat "$ROOTFS/.haup-packages")" != "$PACKAGES" ]; then
  log "debootstrap bookworm with $PACKAGES (about a minute)"
  rm -rf "$ROOTFS.tmp"
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS.tmp" "$(mirror)" >"$CACHE/db-debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/db-debootstrap.log" >&2; exit 1; }
  rm -rf "$ROOTFS"
  mv "$ROOTFS.tmp" "$ROOTFS"
  echo "$PACKAGES" > "$ROOTFS/.haup-packages"
fi

log "assembling the image"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Debian's package creates a cluster we do not use; the image makes its own.
rm -rf "$ROOTFS/var/lib/postgresql/15" "$ROOTFS/etc/postgresql/15"
chroot "$ROOTFS" sh -c 'id -u haup >/dev/null 2>&1 || useradd -u 1001 -g 0 -M -d /opt/haup/run -s /bin/bash haup'
install -d -m 0755 "$ROOTFS/opt/haup"
install -d -m 0775 -o 1001 -g 0 "$ROOTFS/opt/haup/run" "$ROOTFS/bitnami" "$ROOTFS/bitnami/postgresql"
install -m 0755 "$here/entrypoint.sh" "$ROOTFS/opt/haup/entrypoint.sh"
rm -rf "$ROOTFS/var/cache/apt/archives/"*.deb "$ROOTFS/var/lib/apt/lists/"*
tar -C "$ROOTFS" --numeric-owner -cf - . | docker import \
  --change 'USER 1001' \
  --change 'WORKDIR /opt/haup/run' \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PGHOST=/tmp' \
  --change "LABEL io.haup.inputs=$hash" \
  --change 'ENTRYPOINT ["/opt/haup/entrypoint.sh"]' \
  - "$IMAGE" >/dev/null
log "built $IMAGE"
