#!/usr/bin/env bash
# Builds haup's lab database image, haup-lab/postgresql-repmgr:15, from Debian
# packages and vendored sources only: a debootstrap root filesystem with
# postgresql-15 and postgresql-15-repmgr, TimescaleDB built from
# vendor/timescaledb-*.tar.gz in a second, throwaway build root (only its
# installed files go into the image), plus entrypoint.sh, imported with
# `docker import`. No container registry is involved and nothing is downloaded
# during the TimescaleDB build. Both root filesystems and the TimescaleDB build
# are cached, and the image is rebuilt only when its inputs change (a label
# carries their hash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
IMAGE=${HAUP_LAB_IMAGE:-haup-lab/postgresql-repmgr:15}
CACHE=${HAUP_LAB_CACHE:-/var/cache/haup-lab}
ROOTFS=$CACHE/db-rootfs
BUILDROOT=$CACHE/ts-buildroot
TSCACHE=$CACHE/timescaledb
PACKAGES=postgresql-15,postgresql-15-repmgr,iproute2,procps,ca-certificates
BUILD_PACKAGES=postgresql-server-dev-15,cmake,make,gcc,libc6-dev,libssl-dev,libkrb5-dev
PG_MAJOR=15
TS_VERSION=2.17.2
TS_ARCHIVE=$here/vendor/timescaledb-$TS_VERSION.tar.gz
TS_FLAGS="-DPG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF -DSEND_TELEMETRY_DEFAULT=OFF"
# Run in the build root, in the unpacked source. Debug information is
# stripped (PostgreSQL's -g would make the libraries 10 MB instead of 1.7).
TS_BUILD="./bootstrap $TS_FLAGS && make -C build -j2 && make -C build install DESTDIR=/build/out && strip --strip-debug /build/out/usr/lib/postgresql/$PG_MAJOR/lib/*.so"

log() { echo "labimage: $*" >&2; }
die() { echo "labimage: error: $*" >&2; exit 1; }

# The Debian mirror is whatever this machine's apt uses. debootstrap takes
# the main suite only (no security or updates suite): the build root and the
# image get the same PostgreSQL.
mirror() {
  local m
  m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || die "no Debian mirror in the apt configuration"
  echo "$m"
}

# bootstrap DIR PACKAGES LOG: a cached minimal bookworm root with PACKAGES.
bootstrap() {
  local dir=$1 packages=$2 logfile=$3
  if [ -f "$dir/.haup-packages" ] && [ "$(cat "$dir/.haup-packages")" = "$packages" ]; then
    return 0
  fi
  log "debootstrap bookworm with $packages into $dir (a minute or more)"
  rm -rf "$dir.tmp"
  debootstrap --variant=minbase --include="$packages" bookworm "$dir.tmp" "$(mirror)" >"$logfile" 2>&1 \
    || { tail -20 "$logfile" >&2; die "debootstrap failed; see $logfile"; }
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  echo "$packages" > "$dir/.haup-packages"
}

# pkgver ROOT PACKAGE: the Debian version of PACKAGE installed in ROOT.
pkgver() { dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Version}' "$2" 2>/dev/null || true; }

# The vendored source is checked before anything uses it.
ts_sha=$(sha256sum "$TS_ARCHIVE" | cut -d' ' -f1)
grep -qx "$ts_sha  $(basename "$TS_ARCHIVE")" "$here/vendor/SHA256SUMS" \
  || die "$TS_ARCHIVE: sha256 $ts_sha is not the one in vendor/SHA256SUMS"

hash=$( (echo "$PACKAGES $BUILD_PACKAGES $ts_sha"; cat "$here/entrypoint.sh" "$0") | sha256sum | cut -c1-16)
labels() { docker image inspect -f '{{index .Config.Labels "io.haup.postgresql"}} {{index .Config.Labels "io.haup.repmgr"}} {{index .Config.Labels "io.haup.timescaledb"}}' "$IMAGE"; }
if [ "$(docker image inspect -f '{{index .Config.Labels "io.haup.inputs"}}' "$IMAGE" 2>/dev/null)" = "$hash" ]; then
  read -r pg rm ts < <(labels)
  log "$IMAGE is up to date: PostgreSQL $pg, repmgr $rm, TimescaleDB $ts"
  exit 0
fi

mkdir -p "$CACHE"
bootstrap "$ROOTFS" "$PACKAGES" "$CACHE/db-debootstrap.log"
pg_version=$(pkgver "$ROOTFS" postgresql-$PG_MAJOR)
repmgr_version=$(pkgver "$ROOTFS" postgresql-$PG_MAJOR-repmgr)
[ -n "$pg_version" ] || die "$ROOTFS has no postgresql-$PG_MAJOR"

# TimescaleDB's installed files, cached by source, PostgreSQL version and
# build command: a warm build copies them and compiles nothing.
ts_key="$ts_sha $pg_version $TS_BUILD"
ts_out=$TSCACHE/$(echo "$ts_key" | sha256sum | cut -c1-16)
if [ ! -f "$ts_out.key" ] || [ "$(cat "$ts_out.key")" != "$ts_key" ]; then
  bootstrap "$BUILDROOT" "$BUILD_PACKAGES" "$CACHE/ts-debootstrap.log"
  build_pg=$(pkgver "$BUILDROOT" postgresql-server-dev-$PG_MAJOR)
  # TimescaleDB 2.17.2's background jobs fail on PostgreSQL 15.20 while they
  # work on 15.18: the extension must be built against, and run on, the same
  # release.
  [ "$build_pg" = "$pg_version" ] \
    || die "PostgreSQL versions differ: the image has postgresql-$PG_MAJOR $pg_version, the build root postgresql-server-dev-$PG_MAJOR ${build_pg:-(none)}; remove $ROOTFS and $BUILDROOT to fetch both again from the same suite"
  log "building TimescaleDB $TS_VERSION against PostgreSQL $build_pg (30-120 s)"
  rm -rf "$BUILDROOT/build" "$ts_out" "$ts_out.tmp" "$ts_out.key"
  mkdir -p "$BUILDROOT/build" "$TSCACHE"
  tar -C "$BUILDROOT/build" -xzf "$TS_ARCHIVE"
  # The build root has no /proc or /dev mounts and the build needs none.
  if ! chroot "$BUILDROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/build LC_ALL=C \
      /bin/sh -ec "cd /build/timescaledb-$TS_VERSION && $TS_BUILD" \
      >"$CACHE/timescaledb-build.log" 2>&1; then
    tail -30 "$CACHE/timescaledb-build.log" >&2
    die "TimescaleDB build failed; see $CACHE/timescaledb-build.log"
  fi
  mv "$BUILDROOT/build/out" "$ts_out.tmp"
  rm -rf "$BUILDROOT/build"
  built=$(awk -F"'" '/^default_version/ {print $2}' "$ts_out.tmp/usr/share/postgresql/$PG_MAJOR/extension/timescaledb.control")
  [ "$built" = "$TS_VERSION" ] || die "the build installed TimescaleDB ${built:-(nothing)}, want $TS_VERSION"
  # What it was built from travels with the files (the image's tests compare
  # it with the image's PostgreSQL).
  install -d "$ts_out.tmp/usr/share/doc/haup-timescaledb"
  printf 'timescaledb %s\nsource_sha256 %s\npostgresql-server-dev-%s %s\nbuild %s\n' \
    "$TS_VERSION" "$ts_sha" "$PG_MAJOR" "$build_pg" "$TS_BUILD" > "$ts_out.tmp/usr/share/doc/haup-timescaledb/build-info"
  mv "$ts_out.tmp" "$ts_out"
  echo "$ts_key" > "$ts_out.key"
fi

log "assembling the image"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Debian's package creates a cluster we do not use; the image makes its own.
rm -rf "$ROOTFS/var/lib/postgresql/$PG_MAJOR" "$ROOTFS/etc/postgresql/$PG_MAJOR"
chroot "$ROOTFS" sh -c 'id -u haup >/dev/null 2>&1 || useradd -u 1001 -g 0 -M -d /opt/haup/run -s /bin/bash haup'
install -d -m 0755 "$ROOTFS/opt/haup"
install -d -m 0775 -o 1001 -g 0 "$ROOTFS/opt/haup/run" "$ROOTFS/bitnami" "$ROOTFS/bitnami/postgresql"
install -m 0755 "$here/entrypoint.sh" "$ROOTFS/opt/haup/entrypoint.sh"
# TimescaleDB: the files of an earlier build are removed first, so the root
# holds exactly the files of this one.
manifest=$ROOTFS/.haup-timescaledb-files
if [ -f "$manifest" ]; then
  (cd "$ROOTFS" && xargs -r -d '\n' rm -f < "$manifest")
fi
(cd "$ts_out" && find . ! -type d) > "$manifest"
tar -C "$ts_out" -cf - . | tar -C "$ROOTFS" --no-overwrite-dir -xf -
rm -rf "$ROOTFS/var/cache/apt/archives/"*.deb "$ROOTFS/var/lib/apt/lists/"*
tar -C "$ROOTFS" --numeric-owner -cf - . | docker import \
  --change 'USER 1001' \
  --change 'WORKDIR /opt/haup/run' \
  --change "ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change 'ENV PGHOST=/tmp' \
  --change "LABEL io.haup.inputs=$hash" \
  --change "LABEL io.haup.postgresql=$pg_version" \
  --change "LABEL io.haup.repmgr=$repmgr_version" \
  --change "LABEL io.haup.timescaledb=$TS_VERSION" \
  --change 'ENTRYPOINT ["/opt/haup/entrypoint.sh"]' \
  - "$IMAGE" >/dev/null
log "built $IMAGE: PostgreSQL $pg_version, repmgr $repmgr_version, TimescaleDB $TS_VERSION"
