#!/usr/bin/env bash
# Builds haup's lab database image, haup-lab/postgresql-repmgr:15: the
# production image (bitnami/postgresql-repmgr:14.15.0 run as root, with
# TimescaleDB 2.17.2 built from source) rebuilt from its own parts, since
# neither it nor bitnami's binary bundle can be pulled here:
#   - a debootstrap root of Debian 12 with PostgreSQL 15 from the main suite,
#     pgaudit, libnss-wrapper and the system tools bitnami's scripts call,
#     laid out under /opt/bitnami as the scripts expect;
#   - repmgr 5.5.0 and TimescaleDB 2.17.2 compiled from vendor/ in a second,
#     throwaway build root (only their installed files go into the image);
#   - bitnami's own prebuildfs/ and rootfs/ from bitnami/, unmodified, then
#     bitnami's postunpack.sh run in the root, and the Dockerfile's ENV,
#     ENTRYPOINT and CMD, with USER root as production has it;
# imported with `docker import`. No registry is involved and nothing is
# downloaded during the compiles. Every vendored file is checked against its
# sha256 first. Both roots and the compiled outputs are cached, and the image
# is rebuilt only when its inputs change (a label carries their hash).
# DIFFERENCES.md says what differs from production and why.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
IMAGE=${HAUP_LAB_IMAGE:-haup-lab/postgresql-repmgr:15}
CACHE=${HAUP_LAB_CACHE:-/var/cache/haup-lab}
ROOTFS=$CACHE/bitnami-rootfs
BUILDROOT=$CACHE/buildroot
COMPILED=$CACHE/compiled
BITNAMI=$here/bitnami
# The commit of bitnami/containers the decisive script, librepmgr.sh, comes
# from (bitnami/README.md).
BITNAMI_COMMIT=39ea79d34422a4d726dc5fe522e37375c08a850c
PG_MAJOR=15
PACKAGES=postgresql-$PG_MAJOR,postgresql-client-$PG_MAJOR,postgresql-$PG_MAJOR-pgaudit,libnss-wrapper,locales,procps,hostname,passwd,findutils,gzip,mawk,ca-certificates,libcurl4,libjson-c5
BUILD_PACKAGES=postgresql-server-dev-$PG_MAJOR,cmake,make,gcc,libc6-dev,libssl-dev,libkrb5-dev,flex,liblz4-dev,libpam0g-dev,libselinux1-dev,libzstd-dev,libreadline-dev,libxslt1-dev,libcurl4-openssl-dev,libjson-c-dev,zlib1g-dev
TS_VERSION=2.17.2
RM_VERSION=5.5.0
PGLIB=/usr/lib/postgresql/$PG_MAJOR/lib
# Run in the build root, in the unpacked source, installing into /build/out.
# TimescaleDB as production builds it (./bootstrap -DREGRESS_CHECKS=OFF,
# telemetry default left on), without the TAP tests and with warnings not
# fatal; debug information is stripped (PostgreSQL's -g would make the
# libraries 10 MB instead of 1.7).
TS_BUILD="./bootstrap -DPG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF && make -C build -j2 && make -C build install DESTDIR=/build/out && strip --strip-debug /build/out$PGLIB/*.so"
# repmgr's programs go where bitnami's scripts run them.
RM_BUILD="./configure && make -j2 && make install DESTDIR=/build/out && strip --strip-debug /build/out$PGLIB/*.so /build/out/usr/lib/postgresql/$PG_MAJOR/bin/* && install -d /build/out/opt/bitnami/repmgr/bin && mv /build/out/usr/lib/postgresql/$PG_MAJOR/bin/repmgr /build/out/usr/lib/postgresql/$PG_MAJOR/bin/repmgrd /build/out/opt/bitnami/repmgr/bin/ && rmdir /build/out/usr/lib/postgresql/$PG_MAJOR/bin"

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
  "$here/../lab/debootstrap.sh" "$dir.tmp" "$packages" "$logfile" "$(mirror)" \
    || { tail -20 "$logfile" >&2; die "debootstrap failed; see $logfile"; }
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  echo "$packages" > "$dir/.haup-packages"
}

# pkgver ROOT PACKAGE: the Debian version of PACKAGE installed in ROOT.
pkgver() { dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Version}' "$2" 2>/dev/null || true; }

# inroot ROOT COMMAND: COMMAND by /bin/sh in ROOT with a clean environment.
inroot() {
  local root=$1; shift
  chroot "$root" /usr/bin/env -i PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/build LC_ALL=C /bin/sh -ec "$*"
}

# Every vendored file is checked before anything uses it, and every file of
# bitnami's prebuildfs/ and rootfs/ must be listed: nothing unchecked goes
# into the image.
(cd "$here/vendor" && sha256sum --quiet --strict -c SHA256SUMS) >&2 \
  || die "vendor/: a file does not match vendor/SHA256SUMS"
(cd "$BITNAMI" && sha256sum --quiet --strict -c SHA256SUMS) >&2 \
  || die "bitnami/: a file does not match bitnami/SHA256SUMS"
unlisted=$(cd "$BITNAMI" && find prebuildfs rootfs -type f | sort | comm -23 - <(awk '{print $2}' SHA256SUMS | sort))
[ -z "$unlisted" ] || die "bitnami/: files not in SHA256SUMS: $unlisted"
sha() { awk -v f="$1" '$2 == f {print $1}' "$here/vendor/SHA256SUMS"; }
ts_sha=$(sha timescaledb-$TS_VERSION.tar.gz)
rm_sha=$(sha repmgr-$RM_VERSION.tar.gz)
[ -n "$ts_sha" ] && [ -n "$rm_sha" ] || die "vendor/SHA256SUMS lacks timescaledb-$TS_VERSION.tar.gz or repmgr-$RM_VERSION.tar.gz"

hash=$( (echo "$PACKAGES $BUILD_PACKAGES"; cat "$here/vendor/SHA256SUMS" "$BITNAMI/SHA256SUMS" "$0") | sha256sum | cut -c1-16)
label() { docker image inspect -f "{{index .Config.Labels \"$1\"}}" "$IMAGE" 2>/dev/null; }
if [ "$(label io.haup.inputs)" = "$hash" ]; then
  log "$IMAGE is up to date: PostgreSQL $(label io.haup.postgresql), repmgr $(label io.haup.repmgr), TimescaleDB $(label io.haup.timescaledb), $(label io.haup.entrypoint)"
  exit 0
fi

mkdir -p "$CACHE" "$COMPILED"
# The build root is needed unless both programs are compiled already: it is
# made beside the image's root, not after it.
buildroot_pid=
if [ "$(find "$COMPILED" -maxdepth 1 -name '*.key' | wc -l)" -lt 2 ]; then
  bootstrap "$BUILDROOT" "$BUILD_PACKAGES" "$CACHE/buildroot-debootstrap.log" &
  buildroot_pid=$!
fi
bootstrap "$ROOTFS" "$PACKAGES" "$CACHE/bitnami-rootfs-debootstrap.log"
if [ -n "$buildroot_pid" ] && ! wait "$buildroot_pid"; then
  die "the build root could not be made; see $CACHE/buildroot-debootstrap.log"
fi
pg_version=$(pkgver "$ROOTFS" postgresql-$PG_MAJOR)
[ -n "$pg_version" ] || die "$ROOTFS has no postgresql-$PG_MAJOR"

# compile NAME VERSION ARCHIVE SHA256 COMMAND: the files COMMAND installs
# from ARCHIVE, built in the build root against the image's PostgreSQL and
# cached by source, PostgreSQL version and command (a warm build compiles
# nothing). Prints the directory that holds them.
compile() {
  local name=$1 version=$2 archive=$3 sum=$4 cmd=$5
  local key="$sum $pg_version $cmd"
  local out
  out=$COMPILED/$name-$(echo "$key" | sha256sum | cut -c1-16)
  if [ -f "$out.key" ] && [ "$(cat "$out.key")" = "$key" ]; then
    echo "$out"
    return 0
  fi
  bootstrap "$BUILDROOT" "$BUILD_PACKAGES" "$CACHE/buildroot-debootstrap.log"
  local build_pg
  build_pg=$(pkgver "$BUILDROOT" postgresql-server-dev-$PG_MAJOR)
  # TimescaleDB 2.17.2's background jobs fail on PostgreSQL 15.20 while they
  # work on 15.18: what is compiled must be built against, and run on, the
  # same release.
  [ "$build_pg" = "$pg_version" ] \
    || die "PostgreSQL versions differ: the image has postgresql-$PG_MAJOR $pg_version, the build root postgresql-server-dev-$PG_MAJOR ${build_pg:-(none)}; remove $ROOTFS and $BUILDROOT to fetch both again from the same suite"
  log "building $name $version against PostgreSQL $build_pg"
  rm -rf "$BUILDROOT/build" "$out" "$out.tmp" "$out.key"
  mkdir -p "$BUILDROOT/build/src"
  tar -C "$BUILDROOT/build/src" --strip-components=1 -xzf "$archive"
  # The build root has no /proc or /dev mounts and the builds need none.
  inroot "$BUILDROOT" "cd /build/src && $cmd" >"$CACHE/$name-build.log" 2>&1 \
    || { tail -30 "$CACHE/$name-build.log" >&2; die "$name build failed; see $CACHE/$name-build.log"; }
  mv "$BUILDROOT/build/out" "$out.tmp"
  rm -rf "$BUILDROOT/build"
  # What it was built from travels with the files (the image's tests compare
  # it with the image's PostgreSQL).
  install -d "$out.tmp/usr/share/doc/haup-$name"
  printf '%s %s\nsource_sha256 %s\npostgresql-server-dev-%s %s\nbuild %s\n' \
    "$name" "$version" "$sum" "$PG_MAJOR" "$build_pg" "$cmd" > "$out.tmp/usr/share/doc/haup-$name/build-info"
  mv "$out.tmp" "$out"
  echo "$key" > "$out.key"
  echo "$out"
}
ts_out=$(compile timescaledb $TS_VERSION "$here/vendor/timescaledb-$TS_VERSION.tar.gz" "$ts_sha" "$TS_BUILD")
built=$(awk -F"'" '/^default_version/ {print $2}' "$ts_out/usr/share/postgresql/$PG_MAJOR/extension/timescaledb.control")
[ "$built" = "$TS_VERSION" ] || die "$ts_out holds TimescaleDB ${built:-(nothing)}, want $TS_VERSION"
rm_out=$(compile repmgr $RM_VERSION "$here/vendor/repmgr-$RM_VERSION.tar.gz" "$rm_sha" "$RM_BUILD")

log "assembling the image"
work=$(mktemp -d "$CACHE/assemble.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
cp -a "$ROOTFS" "$root"
rm -f "$root/.haup-packages"

# Debian's package creates a cluster that bitnami's scripts do not use.
rm -rf "$root/var/lib/postgresql/$PG_MAJOR" "$root/etc/postgresql/$PG_MAJOR"
# Production has no postgres user in its image: running as root, setup.sh
# creates it at every start (useradd, uid 1000 on a root without other
# users) and owns the data with it. Debian's package made a system user
# postgres; it goes, and what it owned goes to root.
old_uid=$(awk -F: '$1 == "postgres" {print $3}' "$root/etc/passwd")
old_gid=$(awk -F: '$1 == "postgres" {print $3}' "$root/etc/group")
chroot "$root" sh -c 'userdel postgres 2>/dev/null; groupdel postgres 2>/dev/null; true'
if [ -n "$old_uid$old_gid" ]; then
  find "$root" -xdev \( -uid "${old_uid:-x}" -o -gid "${old_gid:-x}" \) -exec chown -h 0:0 {} + 2>/dev/null || true
fi
# Debian's PostgreSQL puts its socket in /var/run/postgresql (a compiled-in
# default); bitnami's in /tmp. The one is made the other.
rm -rf "$root/run/postgresql"
ln -s /tmp "$root/run/postgresql"

# The layout of bitnami's bundle, over Debian's files (NOTES.md).
nss=$(cd "$root" && find usr/lib -name libnss_wrapper.so | head -1)
[ -n "$nss" ] || die "$ROOTFS has no libnss_wrapper.so"
install -d -m 0755 "$root/opt/bitnami/postgresql" "$root/opt/bitnami/repmgr" "$root/opt/bitnami/common/lib" "$root/opt/bitnami/common/bin"
# bin is a directory of links to Debian's programs but for psql: bitnami's
# scripts take PostgreSQL's major version from `psql --version`
# (libpostgresql.sh, postgresql_get_major_version), and Debian's prints
# "psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", in which they find two
# numbers ("15\n15"); their arithmetic on it fails and they configure a
# PostgreSQL older than 12 (wal_keep_segments, recovery.conf). The wrapper
# prints the version as bitnami's psql does and runs Debian's psql for
# everything else.
install -d -m 0755 "$root/opt/bitnami/postgresql/bin"
for f in "$root/usr/lib/postgresql/$PG_MAJOR/bin/"*; do
  ln -s "/usr/lib/postgresql/$PG_MAJOR/bin/${f##*/}" "$root/opt/bitnami/postgresql/bin/${f##*/}"
done
rm "$root/opt/bitnami/postgresql/bin/psql"
cat > "$root/opt/bitnami/postgresql/bin/psql" <<WRAPPER
#!/bin/sh
# haup's lab image: Debian's psql, with a --version that bitnami's scripts
# can read (labimage/build.sh, labimage/DIFFERENCES.md).
case "\$*" in
--version|-V) /usr/lib/postgresql/$PG_MAJOR/bin/psql --version | sed 's/ (Debian [^)]*)\$//' ;;
*) exec /usr/lib/postgresql/$PG_MAJOR/bin/psql "\$@" ;;
esac
WRAPPER
chmod 0755 "$root/opt/bitnami/postgresql/bin/psql"
ln -s /usr/lib/postgresql/$PG_MAJOR/lib "$root/opt/bitnami/postgresql/lib"
ln -s /usr/share/postgresql/$PG_MAJOR "$root/opt/bitnami/postgresql/share"
ln -s "/$nss" "$root/opt/bitnami/common/lib/libnss_wrapper.so"
# The compiled extension and repmgr (its programs in /opt/bitnami/repmgr/bin).
for out in "$ts_out" "$rm_out"; do
  tar -C "$out" --owner=0 --group=0 -cf - . | tar -C "$root" --no-overwrite-dir -xf -
done
built=$(inroot "$root" '/opt/bitnami/repmgr/bin/repmgr --version')
[ "$built" = "repmgr $RM_VERSION" ] || die "the image's repmgr says ${built:-nothing}, want repmgr $RM_VERSION"

# The Dockerfile's steps after its packages and bundle, in its order.
chmod g+rwX "$root/opt/bitnami"
inroot "$root" 'localedef -c -f UTF-8 -i en_US en_US.UTF-8'
inroot "$root" 'update-locale LANG=C.UTF-8 LC_MESSAGES=POSIX && DEBIAN_FRONTEND=noninteractive dpkg-reconfigure locales' >/dev/null 2>&1
inroot "$root" "echo 'en_GB.UTF-8 UTF-8' >> /etc/locale.gen && locale-gen" >/dev/null
inroot "$root" "echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen && locale-gen" >/dev/null
find "$root" -xdev -perm /6000 -type f -exec chmod a-s {} +
# COPY prebuildfs / and COPY rootfs / (prebuildfs comes before the packages in
# the Dockerfile; none of its files is touched by what came between).
for fs in prebuildfs rootfs; do
  tar -C "$BITNAMI/$fs" --owner=0 --group=0 -cf - . | tar -C "$root" --no-overwrite-dir -xf -
done
# RUN postunpack.sh and add-extra-locales.sh, with the Dockerfile's
# environment at that point and its SHELL.
for script in postgresql-repmgr/postunpack.sh locales/add-extra-locales.sh; do
  chroot "$root" /usr/bin/env -i HOME=/ OS_ARCH="$(dpkg --print-architecture)" OS_FLAVOUR=debian-12 OS_NAME=linux \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -o errexit -o nounset -o pipefail -c "/opt/bitnami/scripts/$script" >"$CACHE/postunpack.log" 2>&1 \
    || { cat "$CACHE/postunpack.log" >&2; die "$script failed in the image's root"; }
done
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root/tmp/"*

# bitnami's APP_VERSION is its PostgreSQL's version; here Debian's upstream.
app_version=${pg_version%%-*}
tar -C "$root" --numeric-owner -cf - . | docker import \
  --change "ENV HOME=/" \
  --change "ENV OS_ARCH=$(dpkg --print-architecture)" \
  --change "ENV OS_FLAVOUR=debian-12" \
  --change "ENV OS_NAME=linux" \
  --change "ENV APP_VERSION=$app_version" \
  --change "ENV BITNAMI_APP_NAME=postgresql-repmgr" \
  --change "ENV LANG=en_US.UTF-8" \
  --change "ENV LANGUAGE=en_US:en" \
  --change "ENV NSS_WRAPPER_LIB=/opt/bitnami/common/lib/libnss_wrapper.so" \
  --change "ENV PATH=/opt/bitnami/postgresql/bin:/opt/bitnami/repmgr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change 'EXPOSE 5432' \
  --change 'USER root' \
  --change "LABEL io.haup.inputs=$hash" \
  --change "LABEL io.haup.postgresql=$pg_version" \
  --change "LABEL io.haup.repmgr=$RM_VERSION" \
  --change "LABEL io.haup.timescaledb=$TS_VERSION" \
  --change "LABEL io.haup.entrypoint=bitnami@$BITNAMI_COMMIT" \
  --change 'ENTRYPOINT ["/opt/bitnami/scripts/postgresql-repmgr/entrypoint.sh"]' \
  --change 'CMD ["/opt/bitnami/scripts/postgresql-repmgr/run.sh"]' \
  - "$IMAGE" >/dev/null
log "built $IMAGE: PostgreSQL $pg_version, repmgr $RM_VERSION, TimescaleDB $TS_VERSION, bitnami@$BITNAMI_COMMIT"
