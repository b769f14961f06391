// Package demo embeds the demo accounts loaded by `hotline serve --demo`.
// The data lives in the YAML files beside this one; the organisation they
// sit in is configuration (flows/organisation.yaml), which the flow
// scenarios run in too.
package demo

import "embed"

// Files holds users.yaml and agents.yaml.
//
//go:embed *.yaml
var Files embed.FS

// Organisation names the `kind: organisation` document of the shipped
// configuration that the demo accounts sit in.
const Organisation = "hohhot"
