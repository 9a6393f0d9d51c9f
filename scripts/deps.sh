#!/usr/bin/env bash
# Installs what haup's tests and lab need on a Debian 12 machine, then starts
# the host Docker engine. Idempotent: packages already present are skipped.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "deps: run as root (the lab creates namespaces and nspawn nodes)" >&2; exit 1; }
pkgs=(docker.io keepalived openssh-server postgresql-15 postgresql-15-repmgr systemd-container
      debootstrap docker-registry dpkg-dev sudo iproute2 iptables ca-certificates
      prometheus)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # Installing daemons must not start them on the host: the lab starts what it needs.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
"$(dirname "$0")/host-dockerd.sh"
