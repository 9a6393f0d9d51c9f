#!/usr/bin/env bash
# A minimal Debian 12 root with PACKAGES, for the lab's nodes, build roots and
# image: debootstrap in its two stages, the second with dpkg's unsafe I/O (no
# fsync per file: a root that a crash interrupts is made again from nothing,
# never used), which took 50 s instead of 59 s for the nodes' root on a
# 2-core machine. The setting is removed before the root is used.
#
#   debootstrap.sh DIR PACKAGES LOG MIRROR
set -euo pipefail
dir=${1:?usage: debootstrap.sh DIR PACKAGES LOG MIRROR}
packages=${2:?usage: debootstrap.sh DIR PACKAGES LOG MIRROR}
logfile=${3:?usage: debootstrap.sh DIR PACKAGES LOG MIRROR}
mirror=${4:?usage: debootstrap.sh DIR PACKAGES LOG MIRROR}
unsafe=etc/dpkg/dpkg.cfg.d/haup-lab-unsafe-io
debootstrap --foreign --variant=minbase --include="$packages" bookworm "$dir" "$mirror" >"$logfile" 2>&1
mkdir -p "$dir/etc/dpkg/dpkg.cfg.d"
echo force-unsafe-io > "$dir/$unsafe"
chroot "$dir" /debootstrap/debootstrap --second-stage >>"$logfile" 2>&1
rm -f "$dir/$unsafe"
# What dpkg wrote without syncing, on disk once, before the root is used.
sync -f "$dir"
