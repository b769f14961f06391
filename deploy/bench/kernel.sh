#!/usr/bin/env bash
# Kernel figures for README: first start to ready (initdb included), restart
# to ready, login and `me` latency over HTTP, on a throwaway data folder.
# Usage: deploy/bench/kernel.sh   (after make build; needs curl)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=bin/hotline
[ -x "$bin" ] || { echo "run make build first" >&2; exit 1; }
data=$(mktemp -d)
addr=127.0.0.1:18099
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT

start() {
  local t0 t1
  t0=$(date +%s.%N)
  HOTLINE_DATA_DIR=$data HOTLINE_HTTP_ADDR=$addr $bin serve --demo >"$data.log" 2>&1 &
  pid=$!
  until curl -sf "http://$addr/readyz" >/dev/null; do sleep 0.02; done
  t1=$(date +%s.%N)
  echo "$1 to ready: $(echo "($t1 - $t0) * 1000 / 1" | bc) ms"
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }

percentiles() { # label, then times in seconds on stdin
  sort -n | awk -v label="$1" '{ a[NR] = $1 * 1000 } END {
    printf "%s: n=%d p50 %.1f ms p99 %.1f ms\n", label, NR, a[int(NR * 0.5) + 1], a[int(NR * 0.99) + 1] }'
}

gql() { curl -s -o /dev/null -w '%{time_total}\n' "http://$addr/graphql" -H 'Content-Type: application/json' ${2:+-H "Authorization: Bearer $2"} -d "$1"; }

start "first start (initdb, migrate, demo data)"
stop
start "restart"
login='{"query":"mutation { login(username: \"agent\", password: \"Hotline@12345\") { token } }"}'
for _ in $(seq 50); do gql "$login"; done | percentiles "login (argon2id)"
token=$(curl -s "http://$addr/graphql" -H 'Content-Type: application/json' -d "$login" | sed 's/.*"token":"\([^"]*\)".*/\1/')
for _ in $(seq 500); do gql '{"query":"{ me { username roles } }"}' "$token"; done | percentiles "me"
