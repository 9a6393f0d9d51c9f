#!/bin/sh
# Managed by haup. keepalived runs this on every VRRP state change with
# arguments: INSTANCE NAME STATE PRIORITY. It records the state for haup status.
set -e
mkdir -p /run/haup
printf '%s %s %s\n' "$3" "$(date +%s)" "$4" > /run/haup/vrrp-state.tmp
mv -f /run/haup/vrrp-state.tmp /run/haup/vrrp-state
