package flowtest

import "github.com/hotline12345/hotline/core/module"

// Module is the scenario kind's part of a node: scenarios are run by
// `hotline flow test` and checked by `hotline lint`, never by a serving
// node, so it only declares the kind.
type Module struct{}

// Name implements module.Module.
func (Module) Name() string { return "flowtest" }

// Declares names kind flow-test (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Kinds: []string{Kind}}
}
