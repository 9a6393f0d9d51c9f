#!/usr/bin/env bash
# Makes the lab's package mirror: what haup apt-get installs on a node
# (keepalived), with the dependencies a node made from ROOT lacks, downloaded
# through a chroot of ROOT (a chroot shares the host's network; the nodes'
# namespaces have none) and indexed for apt.
#
#   mirror.sh ROOT DIR vendored|debian
#
# vendored (the default of `haup lab up`): keepalived 2.2.4, the production
# nodes' version, built from lab/vendor by keepalived/build.sh. debian:
# Debian 12's keepalived (2.2.7). Only the chosen keepalived is in the mirror,
# so apt cannot prefer the other (Debian's 1:2.2.7 would win over
# 1:2.2.4-0haup1). DIR is rebuilt only when what it should hold changes:
# .haup-key records the choice and the vendored package's sha256.
#
# ROOT's own apt configuration and state are left as they are: the download
# uses a sources list, lists and archives of its own under ROOT/tmp.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${1:?usage: mirror.sh ROOT DIR vendored|debian}
dir=${2:?usage: mirror.sh ROOT DIR vendored|debian}
choice=${3:?usage: mirror.sh ROOT DIR vendored|debian}

log() { echo "lab: $*" >&2; }
die() { echo "lab: error: $*" >&2; exit 1; }

mirror_url() {
  local m
  m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || die "no Debian mirror in this machine's apt configuration"
  echo "$m"
}

deb=
case $choice in
  vendored)
    deb=$("$here/keepalived/build.sh")
    key="keepalived vendored $(sha256sum "$deb" | cut -d' ' -f1)" ;;
  debian) key="keepalived debian" ;;
  *) die "keepalived: want vendored or debian, not '$choice'" ;;
esac
if [ -f "$dir/Packages.gz" ] && [ "$(cat "$dir/.haup-key" 2>/dev/null)" = "$key" ]; then
  exit 0
fi

log "building the package mirror (keepalived: $choice)"
w=/tmp/haup-mirror
rm -rf "$root$w" "$dir.tmp"
mkdir -p "$root$w/lists/partial" "$root$w/archives/partial" "$dir.tmp"
echo "deb $(mirror_url) bookworm main" > "$root$w/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$w/sources.list" -o Dir::Etc::SourceParts=/nonexistent
          -o "Dir::State::Lists=$w/lists" -o "Dir::Cache::archives=$w/archives"
          -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
want=keepalived
if [ -n "$deb" ]; then
  # apt resolves a local package's dependencies like a named one's.
  cp "$deb" "$root$w/"
  want=$w/$(basename "$deb")
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount --bind /proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true; rm -rf "$root$w"' EXIT
if ! { chroot "$root" apt-get "${apt_opts[@]}" update -q >/dev/null &&
       chroot "$root" apt-get "${apt_opts[@]}" install -y -q --download-only "$want" >/dev/null; }; then
  die "downloading keepalived and its dependencies for the mirror failed"
fi
find "$root$w/archives" -maxdepth 1 -name '*.deb' -exec mv {} "$dir.tmp/" \;
[ -n "$deb" ] && cp "$deb" "$dir.tmp/"
n=$(find "$dir.tmp" -maxdepth 1 -name 'keepalived_*.deb' | wc -l)
[ "$n" = 1 ] || die "the mirror would hold $n keepalived packages, want 1"
(cd "$dir.tmp" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null | gzip -9 > Packages.gz)
echo "$key" > "$dir.tmp/.haup-key"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
log "package mirror: keepalived $(dpkg-deb -f "$(ls "$dir"/keepalived_*.deb)" Version) and $(( $(ls "$dir"/*.deb | wc -l) - 1 )) dependencies"
