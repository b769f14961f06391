#!/usr/bin/env bash
# Kernel figures for README: first start to ready (initdb included), restart
# to ready, login and `me` latency over HTTP, on a throwaway data folder.
# Usage: deploy/bench/kernel.sh [LOGINS [MES]]   (after make build; needs curl)
# LOGINS and MES are how many of each are timed (50 and 500; make test runs
# it with a few of each).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=bin/hotline
[ -x "$bin" ] || { echo "run make build first" >&2; exit 1; }
logins=${1:-50}
mes=${2:-500}
data=$(mktemp -d)
addr=
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$data" "$data.log"; }
trap cleanup EXIT

start() {
  local t0 t1
  t0=$(date +%s.%N)
  # The log exists before the server's shell opens it: sed below may read
  # it first, and a failed read would end the script (set -e).
  : >"$data.log"
  # Port 0: the system picks a free one, which the log names.
  HOTLINE_DATA_DIR=$data HOTLINE_HTTP_ADDR=127.0.0.1:0 HOTLINE_LOG_LEVEL=info $bin serve --demo >"$data.log" 2>&1 &
  pid=$!
  addr=
  until [ -n "$addr" ] && curl -sf "http://$addr/readyz" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$data.log" >&2; exit 1; }
    addr=$(sed -n 's/.*msg="http listening" addr=\([0-9.:]*\).*/\1/p' "$data.log" | tail -1)
    sleep 0.02
  done
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
for _ in $(seq "$logins"); do gql "$login"; done | percentiles "login (argon2id)"
token=$(curl -s "http://$addr/graphql" -H 'Content-Type: application/json' -d "$login" | sed 's/.*"token":"\([^"]*\)".*/\1/')
for _ in $(seq "$mes"); do gql '{"query":"{ me { username roles } }"}' "$token"; done | percentiles "me"
