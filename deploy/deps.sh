#!/usr/bin/env bash
# Makes sure the Debian packages the platform and its tests need are
# present: PostgreSQL's server binaries, sipp and baresip; Node.js and npm
# to build the web UI, Chromium and the CJK fonts its end-to-end test and
# benchmark render Chinese with. As root it installs what
# is missing with apt-get; otherwise it says what to install.
set -euo pipefail

missing=()
have_pg=false
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && have_pg=true
done
command -v initdb >/dev/null 2>&1 && have_pg=true
$have_pg || missing+=(postgresql)
# sipp places the real calls of the telephony tests and benchmarks.
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
# baresip is the real softphone an agent answers with in the tests.
command -v baresip >/dev/null 2>&1 || missing+=(baresip-core)

# Node.js and npm build ui/ (npm ci, vite build).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# The UI's end-to-end test and benchmark drive Debian's chromium
# (playwright-core downloads no browser); without the CJK fonts Chinese
# renders as boxes.
[ -x /usr/bin/chromium ] || missing+=(chromium)
ls /usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc >/dev/null 2>&1 || missing+=(fonts-noto-cjk)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
