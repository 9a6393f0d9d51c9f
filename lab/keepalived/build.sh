#!/usr/bin/env bash
# Builds the lab nodes' keepalived package: keepalived 2.2.4 (the production
# nodes' version, Ubuntu 22.04's) from the vendored upstream archive, offline,
# in a cached Debian bookworm build root, packaged with dpkg-deb as a .deb
# named keepalived that installs like Debian's: /usr/sbin/keepalived, the
# Debian unit keepalived.service (Type=notify, ConditionFileNotEmpty on
# /etc/keepalived/keepalived.conf, no Restart=), /etc/default/keepalived,
# /etc/keepalived/, the unit enabled by its postinst, and its shared libraries
# as Depends (dpkg-shlibdeps).
#
# Prints the path of the cached .deb on stdout; everything else goes to
# stderr. The build root and the package are cached under HAUP_LAB_CACHE: a
# second run builds nothing. Needs root (debootstrap, chroot).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${HAUP_LAB_CACHE:-/var/cache/haup-lab}
BUILDROOT=$CACHE/ka-buildroot
DEBCACHE=$CACHE/keepalived
KA_VERSION=2.2.4
# Debian's and Ubuntu's keepalived carry epoch 1 (Ubuntu 22.04:
# 1:2.2.4-0.2build1): the same epoch, and a revision that says who built it.
DEB_VERSION=1:$KA_VERSION-0haup1
KA_ARCHIVE=$here/../vendor/keepalived-$KA_VERSION.tar.gz
# autogen.sh needs autoconf and automake (a git archive has no configure);
# dpkg-dev gives Debian's build flags and dpkg-shlibdeps.
BUILD_PACKAGES=autoconf,automake,pkg-config,gcc,make,libc6-dev,libssl-dev,libnl-3-dev,libnl-genl-3-dev,libsystemd-dev,dpkg-dev
# Debian's configure paths (its 2.2.7 prints them in `keepalived --version`),
# with systemd as the init system: with libsystemd present, keepalived then
# builds with sd_notify support, which the Type=notify unit needs. Debian's
# SNMP, D-Bus, BFD, JSON and regex options are left out: haup uses none of
# them, and SNMP alone would double the build root.
KA_CONFIGURE="--prefix=/usr --sysconfdir=/etc --localstatedir=/var --runstatedir=/run --mandir=/usr/share/man --with-init=systemd --with-systemdsystemunitdir=/lib/systemd/system --disable-dependency-tracking"
# Run in the build root, in the unpacked source, with Debian's build flags
# (hardening included), as dpkg-buildpackage would set them.
KA_BUILD="eval \"\$(dpkg-buildflags --export=sh)\" && ./autogen.sh && ./configure $KA_CONFIGURE && make -j\$(nproc) && make install DESTDIR=/build/out"

log() { echo "keepalived: $*" >&2; }
die() { echo "keepalived: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "building the package needs root (debootstrap, chroot)"

# The Debian mirror is whatever this machine's apt uses (as lab.sh and
# labimage/build.sh read it); only the main suite, as for the nodes.
mirror() {
  local m
  m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || die "no Debian mirror in the apt configuration"
  echo "$m"
}

# The vendored source is checked before anything uses it.
ka_sha=$(sha256sum "$KA_ARCHIVE" | cut -d' ' -f1)
grep -qx "$ka_sha  $(basename "$KA_ARCHIVE")" "$here/../vendor/SHA256SUMS" \
  || die "$KA_ARCHIVE: sha256 $ka_sha is not the one in lab/vendor/SHA256SUMS"

# The package is keyed by everything it is made of.
key=$( (echo "$ka_sha $DEB_VERSION $BUILD_PACKAGES $KA_BUILD"
        cat "$0" "$here/keepalived.service" "$here/default" "$here/postinst" "$here/prerm" "$here/postrm") | sha256sum | cut -c1-16)
out=$DEBCACHE/$key
mkdir -p "$DEBCACHE"
# One build at a time (a lab up and a test may both ask).
exec 9>"$DEBCACHE/.lock"
flock 9
if deb=$(ls "$out"/keepalived_*.deb 2>/dev/null) && [ -f "$out/.haup-built" ]; then
  echo "$deb"
  exit 0
fi

if ! { [ -f "$BUILDROOT/.haup-packages" ] && [ "$(cat "$BUILDROOT/.haup-packages")" = "$BUILD_PACKAGES" ]; }; then
  log "debootstrap bookworm with the build dependencies into $BUILDROOT (a minute or more, cached afterwards)"
  rm -rf "$BUILDROOT.tmp"
  "$here/../debootstrap.sh" "$BUILDROOT.tmp" "$BUILD_PACKAGES" "$CACHE/ka-debootstrap.log" "$(mirror)" \
    || { tail -20 "$CACHE/ka-debootstrap.log" >&2; die "debootstrap failed; see $CACHE/ka-debootstrap.log"; }
  rm -rf "$BUILDROOT"
  mv "$BUILDROOT.tmp" "$BUILDROOT"
  echo "$BUILD_PACKAGES" > "$BUILDROOT/.haup-packages"
fi

log "building keepalived $KA_VERSION from the vendored source (under a minute)"
started=$(date +%s)
rm -rf "$BUILDROOT/build" "$out" "$out.tmp"
mkdir -p "$BUILDROOT/build"
tar -C "$BUILDROOT/build" -xzf "$KA_ARCHIVE"
# The build root has no /proc or /dev mounts and the build needs none; the
# chroot has no network use: everything comes from the archive.
if ! chroot "$BUILDROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/build LC_ALL=C \
    /bin/sh -ec "cd /build/keepalived-$KA_VERSION && $KA_BUILD" >"$CACHE/keepalived-build.log" 2>&1; then
  tail -30 "$CACHE/keepalived-build.log" >&2
  die "keepalived build failed; see $CACHE/keepalived-build.log"
fi

# The package tree: what Debian's package has, from the staged install.
src=$BUILDROOT/build/out
pkg=$BUILDROOT/build/pkg
install -d "$pkg/DEBIAN" "$pkg/usr/sbin" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/default" \
  "$pkg/etc/keepalived" "$pkg/usr/share/doc/keepalived/samples"
install -m 0755 -s "$src/usr/sbin/keepalived" "$pkg/usr/sbin/keepalived"
# genhash is keepalived under another name (upstream and Debian link it).
{ [ -e "$src/usr/bin/genhash" ] || [ -L "$src/usr/bin/genhash" ]; } && ln -s ../sbin/keepalived "$pkg/usr/bin/genhash"
install -m 0644 "$here/keepalived.service" "$pkg/lib/systemd/system/keepalived.service"
install -m 0644 "$here/default" "$pkg/etc/default/keepalived"
# Upstream installs a sample as /etc/keepalived/keepalived.conf, which would
# satisfy the unit's condition and start keepalived with the sample's VIPs:
# it goes with the documentation, as Ubuntu's package has it.
install -m 0644 "$src/etc/keepalived/keepalived.conf" "$pkg/usr/share/doc/keepalived/samples/keepalived.conf.sample"
for m in "$src"/usr/share/man/man*/*; do
  install -d "$pkg/usr/share/man/$(basename "$(dirname "$m")")"
  gzip -9nc "$m" > "$pkg/usr/share/man/$(basename "$(dirname "$m")")/$(basename "$m").gz"
done
ka_dir=$BUILDROOT/build/keepalived-$KA_VERSION
{
  printf 'keepalived %s, built for the haup lab from the unmodified upstream source.\n\n' "$KA_VERSION"
  printf 'Source: https://github.com/acassen/keepalived tag v%s, commit ab4d7cdf8c96fbe679b82a51289234ed8a68d486\n' "$KA_VERSION"
  printf 'Archive: keepalived-%s.tar.gz (git archive), sha256 %s\n' "$KA_VERSION" "$ka_sha"
  printf 'License: GPL-2.0-or-later\n\n'
  cat "$ka_dir/COPYING"
} > "$pkg/usr/share/doc/keepalived/copyright"
printf 'configure %s\nbuild %s\n' "$KA_CONFIGURE" "$KA_BUILD" > "$pkg/usr/share/doc/keepalived/build-info"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$pkg/DEBIAN/"
echo /etc/default/keepalived > "$pkg/DEBIAN/conffiles"

# Depends: the shared libraries the binaries link, as dpkg-shlibdeps finds
# them in the build root (libc6, libssl3, libnl-3-200, libnl-genl-3-200,
# libsystemd0), and iproute2, as Debian's package declares it.
arch=$(chroot "$BUILDROOT" dpkg --print-architecture)
install -d "$BUILDROOT/build/shlibs/debian"
printf 'Source: keepalived\n\nPackage: keepalived\nArchitecture: any\n' > "$BUILDROOT/build/shlibs/debian/control"
shlibs=$(chroot "$BUILDROOT" /bin/sh -ec "cd /build/shlibs && dpkg-shlibdeps -O /build/pkg/usr/sbin/keepalived" 2>>"$CACHE/keepalived-build.log") \
  || die "dpkg-shlibdeps failed; see $CACHE/keepalived-build.log"
depends=$(echo "$shlibs" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<EOF
Package: keepalived
Version: $DEB_VERSION
Architecture: $arch
Maintainer: haup lab <haup-lab@localhost>
Installed-Size: $size
Pre-Depends: init-system-helpers (>= 1.54~)
Depends: iproute2, $depends
Recommends: ipvsadm
Section: admin
Priority: optional
Homepage: https://keepalived.org
Description: Failover and monitoring daemon for LVS clusters (haup lab build)
 keepalived $KA_VERSION built for haup's lab nodes from the vendored,
 unmodified upstream source (tag v$KA_VERSION, sha256 ${ka_sha:0:16}...),
 so the lab runs the version the production nodes (Ubuntu 22.04) run. It
 installs like Debian's package: the same paths, systemd unit and
 /etc/default/keepalived. Not built with SNMP, D-Bus, BFD, JSON or regex.
EOF
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"
mkdir -p "$out.tmp"
deb=$out.tmp/keepalived_${DEB_VERSION#*:}_$arch.deb
dpkg-deb --root-owner-group -Zxz -b "$pkg" "$deb" >/dev/null
rm -rf "$BUILDROOT/build"
touch "$out.tmp/.haup-built"
mv "$out.tmp" "$out"
# Earlier builds are of no further use.
find "$DEBCACHE" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
log "built $(basename "$deb") in $(( $(date +%s) - started )) s (Depends: iproute2, $depends)"
echo "$out/$(basename "$deb")"
