// Package schema holds what describes the platform's data and formats: the
// numbered SQL migrations embedded in the binary, the printed GraphQL SDL and
// the JSON Schemas of configuration kinds (the last two are written by
// `hotline schema` and checked for drift by tests).
package schema

import "embed"

// Migrations are the forward-only SQL migrations, NNNN_name.sql.
//
//go:embed migrations/*.sql
var Migrations embed.FS
