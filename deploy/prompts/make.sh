#!/usr/bin/env bash
# Synthesises the default IVR prompts listed in prompts.tsv into
# testdata/prompts/<language>/<name>.wav: 8 kHz, 16-bit, mono PCM, the
# format the telephony kernel plays without resampling. Mandarin uses
# espeak-ng's cmn voice; espeak-ng has no Mongolian voice, so Mongolian
# prompts (and the Mongolian half of the language choice) are read by its
# Russian voice from the Cyrillic text: placeholders until recorded ones
# replace them (same names, same format).
# Needs the Debian packages espeak-ng and sox.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../testdata/prompts}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
voice() { case "$1" in zh) echo cmn ;; mn) echo ru ;; *) echo "$1" ;; esac; }
grep -v '^#' "$here/prompts.tsv" | while IFS=$'\t' read -r lang name text v; do
  [ -n "$lang" ] || continue
  mkdir -p "$out/$lang"
  espeak-ng -v "${v:-$(voice "$lang")}" -s 165 -w "$tmp/raw.wav" "$text"
  # -D: no dither, so the same text makes the same file.
  trim=()
  # Fragments said one after another (numbers, "您前面还有 … 位") lose
  # espeak's leading and trailing silence.
  case "$name" in num_*|position_*|estimate_*|more_than) trim=(silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 0.08) ;; esac
  sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out/$lang/$name.wav" gain -3 "${trim[@]}"
done
# The beep before a voice message: 0.4 s of 1 kHz.
for lang in $(grep -v '^#' "$here/prompts.tsv" | cut -f1 | sort -u); do
  sox -n -r 8000 -c 1 -b 16 -e signed-integer "$out/$lang/beep.wav" synth 0.4 sine 1000 vol 0.5
done
