#!/usr/bin/env bash
# Starts the host's Docker engine for the lab and the image tests, if it is not
# running yet. Idempotent. The lab registry on the lab bridge is trusted.
set -euo pipefail
LAB_REGISTRY=${HAUP_LAB_REGISTRY:-10.77.0.254:5000}
DATA_ROOT=${HAUP_DOCKER_DATA_ROOT:-/var/lib/haup-docker}
if docker info >/dev/null 2>&1; then exit 0; fi
command -v dockerd >/dev/null || { echo "host-dockerd: dockerd not installed (apt-get install docker.io)" >&2; exit 1; }
mkdir -p "$DATA_ROOT" /var/log
nohup dockerd --data-root "$DATA_ROOT" --insecure-registry "$LAB_REGISTRY" \
  >/var/log/haup-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "host-dockerd: dockerd did not come up; see /var/log/haup-dockerd.log" >&2
exit 1
