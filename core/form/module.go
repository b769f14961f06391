package form

import "github.com/hotline12345/hotline/core/module"

// Declares names the form, dictionary and division kinds
// (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Kinds: []string{Kind, KindDictionary, KindDivision}}
}
