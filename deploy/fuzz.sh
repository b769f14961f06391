#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for a bounded time each
# (FUZZTIME, default 5s), so `make test` exercises the parsers a stranger
# can reach (GraphQL documents and variables, SIP messages, form input,
# search queries, uploads) beyond their seed corpora. Targets are found by
# name, so a new `func FuzzX` runs without an edit here. A failing input is
# written under the package's testdata/fuzz/ by `go test`; commit it with
# the fix so it stays a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
go=${GO:-go}
count=0
while IFS= read -r file; do
  pkg=./$(dirname "$file")
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
    echo "fuzz: $pkg $fn ($fuzztime)"
    "$go" test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzztime" "$pkg"
    count=$((count + 1))
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' core plugins deploy | sort)
echo "fuzz: $count targets, $fuzztime each: no failure"
