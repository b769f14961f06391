#!/usr/bin/env bash
# The telephony benchmark: starts hotline with the repository's
# configuration plus the benchmark's menu (99999) and one-second wrap-up,
# then runs the Go driver, which makes agents whose phones one sipp answers
# (in A-law, playing recorded speech) and places calls with a second sipp
# (u-law, echoing what it hears, pressing 1 into the prompt).
#
#   deploy/bench/sip/run.sh [-cps 80] [-duration 10m] [-agents 800] [-talk 6500ms]
#
# Needs sipp (Debian sip-tester). Run from the repository root. make test
# runs it for a few seconds (deploy/bench/quick.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
make build >/dev/null
work="$(mktemp -d "${TMPDIR:-/tmp}/sipbench.XXXX")"
conf="$work/config"
mkdir -p "$conf/flows"
cp -r flows/. "$conf/flows/"
cp deploy/bench/sip/flows/*.yaml "$conf/flows/"
cp -r forms scripts "$conf/"
ln -s "$root/testdata" "$conf/testdata"

# Port 0 for HTTP and SIP: the system picks free ones, which the log names
# (info level: nothing is logged per call).
# The log exists before the server's shell opens it: logged may read it
# first, and a failed read would end the script (set -e, pipefail).
: >"$work/hotline.log"
HOTLINE_DATA_DIR="$work/data" HOTLINE_CONFIG_DIR="$conf" HOTLINE_HTTP_ADDR=127.0.0.1:0 \
HOTLINE_SIP_ADDR=127.0.0.1:0 HOTLINE_LOG_LEVEL=info \
  bin/hotline serve --demo --demo-tickets 0 --demo-articles 0 >"$work/hotline.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
logged() { sed -n "s/.*msg=\"$1\".* addr=\([0-9.:]*\).*/\1/p" "$work/hotline.log" | tail -1; }
http=
for _ in $(seq 1 600); do
  http=$(logged "http listening")
  [ -n "$http" ] && curl -sf "http://$http/readyz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { tail -20 "$work/hotline.log"; exit 1; }
  sleep 0.2
done
sip=$(logged "listening for SIP")
[ -n "$sip" ] || { echo "hotline did not start SIP" >&2; tail -20 "$work/hotline.log"; exit 1; }
echo "hotline pid $pid (HTTP $http, SIP $sip), files in $work"
go run ./deploy/bench/sip -data "$work/data" -pid "$pid" -out "$work" -sip "$sip" "$@"
