#!/usr/bin/env bash
# Every benchmark of README, run for a few seconds on a small data set, so
# that a README command that no longer works fails `make test` (which runs
# this after the Go tests). The commands are README's, with small numbers;
# the figures they print mean nothing here and are not checked.
#
# Usage: deploy/bench/quick.sh   (after make build; needs curl, sipp and chromium)
set -euo pipefail
cd "$(dirname "$0")/../.."
# A clean environment, as README's commands assume: no HOTLINE_* of the
# caller's (a HOTLINE_DATABASE_URL would send the benchmarks to it).
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(HOTLINE_[A-Z0-9_]*\)=.*/\1/p')
TMPDIR="$(mktemp -d)"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

# run prints the command, runs it with its output kept aside, and shows the
# output only when it fails.
run() {
  local t0=$SECONDS
  printf 'bench: %s\n' "$*"
  if ! "$@" >"$TMPDIR/out" 2>&1; then
    tail -40 "$TMPDIR/out"
    echo "bench: FAILED: $*" >&2
    exit 1
  fi
  printf 'bench:   ok in %ds: %s\n' $((SECONDS - t0)) "$(grep -v '^time=' "$TMPDIR/out" | tail -1)"
}

run deploy/bench/kernel.sh 3 20
run go run ./deploy/bench/flow -tickets 2000 -users 4 -duration 3s
run env HOTLINE_DATA_DIR="$TMPDIR/search" bin/hotline gen --tickets 300 --bulk
run env HOTLINE_DATA_DIR="$TMPDIR/search" go run ./deploy/bench/search -queries 20
run env HOTLINE_DATA_DIR="$TMPDIR/kb" go run ./deploy/bench/knowledge -articles 100 -queries 20 -import 20 -rebuild
run deploy/bench/sip/run.sh -cps 2 -duration 3s -agents 2 -talk 1500ms
run node deploy/bench/ui/login.mjs -runs 1
run node deploy/bench/ui/screenpop.mjs -calls 1
run node deploy/bench/ui/list.mjs -runs 1 -tickets 500
