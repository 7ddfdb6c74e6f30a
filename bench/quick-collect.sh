#!/usr/bin/env bash
# Quick local load on /collect with one captured Faro SDK body (keep-alive, 32 connections):
# Pharos pinned to CPU 0, wrk to CPU 1, 10 s, loopback only. Prints wrk's summary.
#   bench/quick-collect.sh [fixture-file] [extra pharos start flags...]
# The full benchmark (bare-server limit, workers, 10,000 apps, JSON results) is `npm run bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
fixture=${1:-test/fixtures/faro-sdk-2.12/01-main-page-load--ev_session_start+ev_faro.performance.navigation+webvital_fcp+webvital_ttfb.json}
shift || true
command -v wrk >/dev/null || { echo "wrk is missing: sudo apt-get install -y wrk" >&2; exit 1; }
[ -f dist/cli/main.js ] || npm run build

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/pharos.yaml" <<YAML
tenants:
  - id: bench
    apps:
      - id: bench-app
        allowedOrigins: [http://127.0.0.1:5600]
        keys: [bench-key-0123456789abcdef]
YAML
taskset -c 0 node dist/cli/main.js start --config "$work/pharos.yaml" --data-dir "$work/data" \
  --public 127.0.0.1:12357 --internal 127.0.0.1:12358 --log-level warn "$@" 2>"$work/stderr" &
pid=$!
for _ in $(seq 200); do curl -sf http://127.0.0.1:12357/-/ready >/dev/null && break; sleep 0.05; done
curl -sf http://127.0.0.1:12357/-/ready >/dev/null || { cat "$work/stderr" >&2; exit 1; }

BENCH_BODY_FILE="$PWD/$fixture" BENCH_APP_KEY=bench-key-0123456789abcdef \
  taskset -c 1 wrk -t1 -c32 -d10s -s bench/collect.lua http://127.0.0.1:12357
echo "pharos RSS after the run: $(( $(ps -o rss= -p "$pid") / 1024 )) MiB"
