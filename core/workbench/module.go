package workbench

import "github.com/hotline12345/hotline/core/module"

// Declares names the workbench kind (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Kinds: []string{Kind}}
}
