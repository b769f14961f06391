// Package demo embeds the demo organisation and accounts loaded by
// `hotline serve --demo`. The data lives in the YAML files beside this one.
package demo

import "embed"

// Files holds org.yaml and users.yaml.
//
//go:embed *.yaml
var Files embed.FS
