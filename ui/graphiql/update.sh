#!/usr/bin/env bash
# Re-fetches the vendored GraphiQL console assets from the npm registry.
#
# Hotline centres run on closed intranets, so the console cannot load
# GraphiQL from a CDN; the files are embedded in the binary (package ui).
# Only the four browser files are kept, byte-identical to the npm tarballs.
# After running, update the versions and checksums in README.md
# (this script prints them) and check the console in a browser.
#
# Usage: ui/graphiql/update.sh [graphiql-version] [react-version]
set -euo pipefail

GRAPHIQL_VERSION="${1:-3.9.0}"  # newest 3.x; 5.x no longer ships the UMD build
REACT_VERSION="${2:-18.3.1}"    # newest 18.x; React 19 has no UMD builds

dest="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "graphiql@${GRAPHIQL_VERSION}" "react@${REACT_VERSION}" "react-dom@${REACT_VERSION}" >/dev/null

extract() { # tarball, path inside package, destination name
	tar -xzf "$1" -C "$work" "package/$2"
	cp "$work/package/$2" "$dest/$3"
	rm -rf "$work/package"
}

extract "graphiql-${GRAPHIQL_VERSION}.tgz" graphiql.min.js graphiql.min.js
extract "graphiql-${GRAPHIQL_VERSION}.tgz" graphiql.min.css graphiql.min.css
extract "graphiql-${GRAPHIQL_VERSION}.tgz" LICENSE LICENSE.graphiql
extract "react-${REACT_VERSION}.tgz" umd/react.production.min.js react.production.min.js
extract "react-${REACT_VERSION}.tgz" LICENSE LICENSE.react
extract "react-dom-${REACT_VERSION}.tgz" umd/react-dom.production.min.js react-dom.production.min.js
extract "react-dom-${REACT_VERSION}.tgz" LICENSE LICENSE.react-dom

cd "$dest"
echo "graphiql ${GRAPHIQL_VERSION}, react ${REACT_VERSION}, react-dom ${REACT_VERSION}"
sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js
wc -c graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js
