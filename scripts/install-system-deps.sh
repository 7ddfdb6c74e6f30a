#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: Chromium (the real Faro SDK runs
# in it), Prometheus (scrapes the web-vitals histograms), curl (faro-cli uploads with it), nginx
# (balances three Pharos replicas in the multi-replica tests), redis-server (the Redis-outage
# test stops and restarts its own Redis) and wrk (drives `npm run bench`).
# Run as root, once per machine.
set -euo pipefail

packages=(chromium prometheus curl nginx redis-server wrk)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages already installed: ${packages[*]}"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; run: sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
