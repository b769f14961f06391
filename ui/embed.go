// Package ui holds browser assets embedded in the hotline binary, so that
// the web consoles work on closed intranets without any CDN.
package ui

import "embed"

// GraphiQL holds the vendored GraphiQL console (see graphiql/README.md).
// Paths are "graphiql/<file>".
//
//go:embed graphiql
var GraphiQL embed.FS
