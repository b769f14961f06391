package dispatch

import "github.com/hotline12345/hotline/core/module"

// Declares names the responsibility lists the suggestion reads
// (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Kinds: []string{KindResponsibility}}
}
